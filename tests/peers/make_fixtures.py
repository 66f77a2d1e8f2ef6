"""Writes tests/fixtures/peers/: prediction files as the peers write them, each with the decisions
the peer's own code makes on it (<file>.expected.json: per row sample_id, correct, score), for
tests/test_peers_io.c. Run with the oracle environment (tests/peers/oracle-env):
    tests/.venv-peers/bin/python tests/peers/make_fixtures.py
VLMEvalKit files are written with the copied dump() of xjtupanda/Tango@cc815b6 (xlsx through
XlsxWriter with formulas on, tsv, json); the decisions are those of the copied evaluate() on the
same predictions through its default pipeline (the .xlsx PRED_FORMAT); lmms-eval files are
written the way its EvaluationTracker.save_results_samples writes them (lmms-eval 0.7.3), with the
metric dicts of the task's real process_results."""
import csv
import hashlib
import importlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'fixtures', 'peers')
sys.path.insert(0, HERE)
import oracle  # noqa: E402

RAWS = ['B) Red', '\x1fA', '', '=B', 'NA', 'mailto:B', '_x0041_', 'The answer is C', 'green', '(D)Blue',
        'Failed to obtain answer via API.', '  (a)', '\u3000B\u3000', 'B\u3002', '<think>A</think>C']
OPTS = ['Yellow', 'Red', 'Green', 'Blue']
TASKS = ['plotQA', 'needle', 'ego', 'count', 'order', 'anomaly_reco', 'topic_reasoning']


def cases(bench):
    out = []
    for i, raw in enumerate(RAWS):
        gold = 'ABCD'[i % 4]
        out.append({'bench': bench, 'raw': raw, 'options': OPTS, 'gold': gold, 'task': TASKS[i % len(TASKS)]})
    return out


def vlmeval_fixture(bench, fmt):
    pkg = 'vlmevalkit_cc815b6'
    file = importlib.import_module(pkg + '.file')
    cs = cases(bench)
    df = oracle.vlmeval_frame(bench, cs)
    if bench == 'mvbench':
        df['task_type'] = ['Action Sequence', 'Fine-grained Action'] * (len(cs) // 2) + ['Action Sequence'] * (len(cs) % 2)
    name = f'vlmeval_{bench}.{fmt}'
    path = os.path.join(OUT, name)
    file.dump(df, path)
    # the peer's decisions on these predictions, through its default pipeline (PRED_FORMAT xlsx)
    dec, _, _ = oracle.vlmeval(pkg, bench, cs)
    expected = [{'row': i, 'correct': d['correct'], 'score': d['score'], 'error': d.get('error')} for i, d in enumerate(dec)]
    json.dump(expected, open(path + '.expected.json', 'w'), indent=1)


def lmms_fixture(bench, task_name):
    from loguru import logger
    logger.remove()
    venv = os.environ.get('TB_PEERS_VENV', os.path.join(HERE, '..', '.venv-peers'))
    m = oracle.lmms_load(os.path.join(venv, 'lmms-eval-0.7.3'))
    cs = cases(bench)
    dec, _ = oracle.lmms(m, bench, cs)
    path = os.path.join(OUT, f'20250101_000000_samples_{task_name}.jsonl')
    with open(path, 'w', encoding='utf-8') as f:
        for i, c in enumerate(cs):
            pred = m['reasoning'].strip_reasoning_tags(c['raw'], oracle.TAGS)
            if bench == 'mvbench':
                doc = {'candidates': OPTS, 'answer': OPTS['ABCD'.index(c['gold'])]}
                metrics = m['mvbench'].mvbench_process_results(doc, [pred])
                target = doc['answer']
                prompt = 'Question:What happens?\nOption:\n' + ''.join(f'({L}) {o}\n' for L, o in zip('ABCD', OPTS))
            else:
                doc = {'question': 'q', 'task_type': c['task'], 'answer': c['gold']}
                metrics = m['mlvu'].mlvu_process_results(doc, [pred])
                target = c['gold']
                prompt = 'q\n' + ''.join(f'({L}) {o}\n' for L, o in zip('ABCD', OPTS)) + 'Only give the best option.'
            # EvaluationTracker.save_results_samples: resps flattened and dropped when equal
            sample = {'doc_id': i, 'doc': doc, 'target': target, 'arguments': [prompt],
                      'resps': [c['raw']], 'filtered_resps': [pred], 'doc_hash': hashlib.sha256(str(i).encode()).hexdigest()}
            sample.update(metrics)
            sample['input'] = sample['arguments'][0]
            sample['resps'] = sample['resps'][0]
            sample['filtered_resps'] = sample['filtered_resps'][0]
            if sample['resps'] == sample['filtered_resps']:
                sample.pop('resps')
            sample['target'] = str(sample['target'])
            sample.pop('arguments')
            sample.pop('doc')
            f.write(json.dumps(sample, ensure_ascii=False) + '\n')
    expected = [{'row': i, 'correct': d['correct'], 'score': d['score'], 'error': None} for i, d in enumerate(dec)]
    json.dump(expected, open(path + '.expected.json', 'w'), indent=1)


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    import logging
    import warnings
    logging.disable(logging.CRITICAL)
    warnings.simplefilter('ignore')
    saved, sys.stdout = sys.stdout, open(os.devnull, 'w')
    try:
        vlmeval_fixture('mlvu', 'xlsx')
        vlmeval_fixture('mvbench', 'tsv')
        vlmeval_fixture('videomme', 'json')
        lmms_fixture('mvbench', 'mvbench_action_sequence')
        lmms_fixture('mlvu', 'mlvu_dev')
    finally:
        sys.stdout = saved
    print('fixtures written to', os.path.normpath(OUT))
