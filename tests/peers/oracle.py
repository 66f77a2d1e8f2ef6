"""The peers' own scoring functions as a test oracle (never shipped, never a runtime dependency).

    oracle.py --peer PEER < cases.jsonl > decisions.jsonl

PEER is one of
    vlmevalkit@cc815b6   tests/peers/vlmevalkit_cc815b6 (verbatim copies from xjtupanda/Tango)
    vlmevalkit@e8e78f0   tests/peers/vlmevalkit_e8e78f0 (verbatim copies from open-compass/VLMEvalKit)
    lmms-eval@0.7.1      lmms-eval 0.7.1 from PyPI (= the copy in xjtupanda/Tango for these tasks)
    lmms-eval@0.7.3      lmms-eval 0.7.3 from PyPI
and each input line is {"bench": "videomme|mvbench|longvideobench|mlvu", "raw": "...", "options":
[...], "gold": "B", "task": "plotQA"}. Each output line, in order, is the peer's decision:
{"letter": "B" or null (null also when the peer exposes none: "letter_known": false), "correct":
bool, "score": the sample's term in the peer's accuracy or null when left out, "random": true when
the peer picked a random option, "error": "..." when the peer raised}. After the samples, one line
per benchmark {"aggregate": BENCH, "value": the peer's headline accuracy in percent, "without": [the
benchmark's case numbers left out because they make the peer raise]}.

VLMEvalKit runs as it runs for real: the predictions go into the eval file with its own dump()
(xlsx, as PRED_FORMAT's default), and its dataset's evaluate() (exact matching) reads them back
with its own load() and writes the _score file, which is read for the per-sample scores.
lmms-eval runs each response through api/reasoning.py strip_reasoning_tags with the evaluator's
default --reasoning_tags, then the task's process_results and aggregation functions.
"""
import argparse
import importlib
import json
import math
import os
import random
import sys
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

LETTERS = 'ABCDEFGH'


def stub(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules.setdefault(name, m)
    return m


# ---------------------------------------------------------------------------------------------
# VLMEvalKit

def vlmeval_frame(bench, cases):
    import pandas as pd
    rows = []
    for i, c in enumerate(cases):
        opts, g = c['options'], LETTERS.index(c['gold'])
        row = {'index': i, 'video': f'v{i}', 'question': 'What happens?', 'prediction': c['raw']}
        if bench == 'videomme':
            row.update(duration='short', domain='Knowledge', sub_category='Humanity & History',
                       task_type='Counting Problem', candidates=str([f'{LETTERS[k]}. {o}' for k, o in enumerate(opts)]),
                       answer=c['gold'])
        elif bench == 'longvideobench':
            row.update(candidates=str(opts), correct_choice=g, duration_group=600, question_category='S2E')
        elif bench == 'mvbench':
            row.update(task_type='Action Sequence', candidates=str(opts), answer=opts[g])
        else:
            row.update(task_type=c.get('task') or 'plotQA', candidates=str(opts), answer=opts[g])
        rows.append(row)
    return pd.DataFrame(rows)


def vlmeval_run(pkg, bench, cases, tmp):
    """evaluate() on the cases; returns (per-case dicts, headline accuracy in percent)."""
    file = importlib.import_module(pkg + '.file')
    mod = importlib.import_module(pkg + '.' + bench)
    evaluate = mod.evaluate.__func__ if isinstance(mod.evaluate, classmethod) else mod.evaluate
    eval_file = os.path.join(tmp, f'M_{bench}.xlsx')
    file.dump(vlmeval_frame(bench, cases), eval_file)
    self = types.SimpleNamespace(dataset_name=bench)
    rating = evaluate(self, eval_file, model='exact_matching')
    scored = file.load(file.get_intermediate_file_path(eval_file, '_score'))
    back = file.load(eval_file)  # what evaluate() read
    out = []
    for i in range(len(cases)):
        s = scored.loc[i, 'score']
        d = {'letter': None, 'letter_known': False}
        if bench in ('videomme', 'longvideobench'):
            ex = importlib.import_module(pkg + '.utils.' + bench).extract_characters_regex
            letter = ex(str(back.loc[i, 'prediction']))
            d.update(letter=letter or None, letter_known=True, correct=bool(s == 1), score=float(s))
        elif bench == 'mvbench':  # get_dimension_rating counts `if item['score']`: NaN and -1 are true
            d.update(correct=bool(s), score=1.0 if bool(s) else 0.0)
        else:
            d.update(correct=bool(s == 1), score=float(s))
        out.append(d)
    if bench in ('videomme', 'longvideobench'):
        agg = float(rating['overall']['overall']) * 100
    elif bench == 'mvbench':
        agg = 100.0 * rating['overall'][0] / rating['overall'][1]
    else:  # MLVU M-Avg: sum of scores over all tasks / questions (ConcatVideoDataset.evaluate)
        agg = 100.0 * sum(v[0] for v in rating.values()) / sum(v[1] for v in rating.values())
    return out, agg


def vlmeval(pkg, bench, cases):
    """(per-case decisions, headline accuracy, indices of the cases left out of the accuracy). A
    case that makes evaluate() raise gets {"error": ...}; the accuracy is then that of the others."""
    def attempt(sub):
        with tempfile.TemporaryDirectory() as tmp:
            try:
                # a plain companion answer, so that a batch of missing predictions has a score column
                return vlmeval_run(pkg, bench, sub + [dict(sub[0], raw='A')], tmp), None
            except Exception as e:
                return None, f'{type(e).__name__}: {e}'

    def raising(idx):  # bisection for the cases that make evaluate() raise
        got, err = attempt([cases[i] for i in idx])
        if got:
            return {}
        if len(idx) == 1:
            return {idx[0]: err}
        h = len(idx) // 2
        return {**raising(idx[:h]), **raising(idx[h:])}

    bad = raising(list(range(len(cases))))
    keep = [i for i in range(len(cases)) if i not in bad]
    with tempfile.TemporaryDirectory() as tmp:
        out_keep, agg = vlmeval_run(pkg, bench, [cases[i] for i in keep], tmp) if keep else ([], None)
    out = [None] * len(cases)
    for i, d in zip(keep, out_keep):
        out[i] = d
    for i, err in bad.items():
        out[i] = {'error': err, 'letter': None, 'letter_known': False, 'correct': False, 'score': None}
    return out, agg, sorted(bad)


# ---------------------------------------------------------------------------------------------
# lmms-eval

def lmms_load(root):
    """Imports the four task modules of the lmms-eval tree at root without running the package's
    __init__ (which pulls torch, transformers, ...): the modules their scoring never uses are stubs."""
    for name, sub in [('lmms_eval', ''), ('lmms_eval.tasks', 'tasks'), ('lmms_eval.api', 'api'),
                      ('lmms_eval.tasks._task_utils', 'tasks/_task_utils')]:
        m = types.ModuleType(name)
        m.__path__ = [os.path.join(root, 'lmms_eval', sub)]
        sys.modules[name] = m
    for name in ['cv2', 'torch', 'PIL.Image']:
        stub(name)
    stub('datasets', Dataset=object)
    stub('PIL', Image=sys.modules['PIL.Image'])
    stub('decord', VideoReader=None, cpu=None)
    stub('lmms_eval.utils')
    stub('lmms_eval.tasks._task_utils.file_utils', generate_submission_file=None)
    sys.modules['lmms_eval'].utils = sys.modules['lmms_eval.utils']
    mods = {b: importlib.import_module(f'lmms_eval.tasks.{b}.utils')
            for b in ['videomme', 'mvbench', 'longvideobench', 'mlvu']}
    mods['reasoning'] = importlib.import_module('lmms_eval.api.reasoning')
    return mods


# the evaluator's default --reasoning_tags
TAGS = json.loads('[["<think>", "</think>"], ["<analysis>", "</analysis>"]]')


class RandomPick:
    """Stands for random.choice: records that the peer picked at random."""
    picked = False

    def __call__(self, seq):
        RandomPick.picked = True
        return None


def lmms(m, bench, cases):
    out, results = [], []
    for i, c in enumerate(cases):
        pred = m['reasoning'].strip_reasoning_tags(c['raw'], TAGS)
        opts, gold = c['options'], c['gold']
        d = {'letter': None, 'letter_known': True, 'random': False}
        if bench == 'videomme':
            doc = {'answer': gold, 'domain': 'Knowledge', 'sub_category': 'Humanity & History',
                   'task_type': 'Counting Problem', 'question_id': f'{i}', 'duration': 'short', 'videoID': f'v{i}'}
            r = m['videomme'].videomme_process_results(doc, [pred])['videomme_perception_score']
            d.update(letter=r['pred_answer'] or None, correct=r['pred_answer'] == r['answer'])
            d['score'] = 1.0 if d['correct'] else 0.0
        elif bench == 'mvbench':
            doc = {'candidates': opts, 'answer': opts[LETTERS.index(gold)]}
            r = m['mvbench'].mvbench_process_results(doc, [pred])['mvbench_accuracy']
            d.update(correct=r['score'] == 1, score=None if r['pred_answer'] == '' else float(r['score']))
            # the letter mcq_acc's process() reads: the one option letter X with mcq_acc(X, pred) == 1
            hits = [X for X in 'ABCDE' if m['mvbench'].mcq_acc(X, pred) == 1]
            d['letter'] = hits[0] if len(hits) == 1 else None
        elif bench == 'longvideobench':
            doc = {f'option{k}': (opts[k] if k < len(opts) else 'N/A') for k in range(5)}
            doc.update(correct_choice=LETTERS.index(gold), id=f'{i}', duration_group=600, question_category='S2E')
            RandomPick.picked = False
            saved, m['longvideobench'].random.choice = m['longvideobench'].random.choice, RandomPick()
            try:
                r = m['longvideobench'].longvideobench_process_results(doc, [pred])['lvb_acc']
            finally:
                m['longvideobench'].random.choice = saved
            d.update(letter=r['parsed_pred'], correct=r['parsed_pred'] == r['answer'], random=RandomPick.picked)
            d['score'] = 1.0 if d['correct'] else 0.0
        else:
            doc = {'question': f'q{i}', 'task_type': c.get('task') or 'plotQA', 'answer': gold}
            r = m['mlvu'].mlvu_process_results(doc, [pred])['mlvu_percetion_score']
            p = r['pred_answer']
            d.update(letter=p if len(p) == 1 and 'A' <= p <= 'Z' else None, correct=p == r['answer'])
            d['score'] = 1.0 if d['correct'] else 0.0
        out.append(d)
        results.append(r)
    if bench == 'videomme':
        agg = m['videomme'].videomme_aggregate_results(results)
    elif bench == 'mvbench':
        agg = m['mvbench'].mvbench_aggregate_results(results)
    elif bench == 'longvideobench':
        agg = 100.0 * m['longvideobench'].longvideobench_aggregate_results(results)
    else:
        agg = m['mlvu'].mlvu_aggregate_results_dev(results)
    return out, agg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--peer', required=True,
                    choices=['vlmevalkit@cc815b6', 'vlmevalkit@e8e78f0', 'lmms-eval@0.7.1', 'lmms-eval@0.7.3'])
    ap.add_argument('--lmms-root', help='folder holding the lmms_eval package of that version')
    a = ap.parse_args()
    cases = [json.loads(line) for line in sys.stdin if line.strip()]
    by_bench = {}
    for i, c in enumerate(cases):
        by_bench.setdefault(c['bench'], []).append(i)
    if a.peer.startswith('lmms-eval'):
        import logging
        from loguru import logger
        logger.remove()
        logging.disable(logging.CRITICAL)
        m = lmms_load(a.lmms_root)
    else:
        import logging
        import warnings
        logging.disable(logging.CRITICAL)
        warnings.simplefilter('ignore')
    decisions, aggs = [None] * len(cases), []
    for bench, idx in by_bench.items():
        sub = [cases[i] for i in idx]
        if a.peer.startswith('lmms-eval'):
            out, agg = lmms(m, bench, sub)
            without = []
        else:
            devnull = open(os.devnull, 'w')
            saved, sys.stdout = sys.stdout, devnull  # evaluate() prints a summary
            try:
                out, agg, without = vlmeval('vlmevalkit_' + a.peer.split('@')[1], bench, sub)
            finally:
                sys.stdout = saved
        for i, d in zip(idx, out):
            if d.get('score') is not None and math.isnan(d['score']):
                d['score'] = None
            decisions[i] = d
        aggs.append({'aggregate': bench, 'value': agg, 'without': without})
    for d in decisions:
        print(json.dumps(d))
    for g in aggs:
        print(json.dumps(g))


if __name__ == '__main__':
    random.seed(0)
    main()
