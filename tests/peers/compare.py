"""Scores the corpus of hard raw outputs (tests/peers/corpus.jsonl) with `tango-bench score` under
each convention and with the matching peer's own functions (oracle.py), and prints how many
decisions agree, per convention and benchmark, and the headline accuracies side by side.

    compare.py --bin build/tango-bench --venv tests/.venv-peers [--show N]

A decision agrees when `correct` and `score` are equal and, where the peer exposes the letter it
read, the letter too. Two peer behaviours are not copied and are counted apart: lmms-eval's
random choice when LongVideoBench parsing fails ("peer random": ours must be a parse failure,
scored 0), and VLMEvalKit@e8e78f0's TypeError on a missing MLVU prediction ("peer raises": ours
must be wrong and a parse failure). Prints "TB-RESULT: N passed, N failed" (one check per
convention x benchmark for the decisions, one for the aggregate) and exits 1 on any failure.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CONVENTIONS = [('vlmevalkit', 'vlmevalkit@cc815b6'), ('lmms-eval', 'lmms-eval@0.7.1'),
               ('vlmevalkit@e8e78f0', 'vlmevalkit@e8e78f0'), ('lmms-eval@0.7.3', 'lmms-eval@0.7.3')]
OPTIONS = {
    'videomme': (['Apples.', 'Candles.', 'Berries.', 'The three kinds are of the same number.'], 'CA'),
    'longvideobench': (['Walking the horse', 'Punching towards the camera', 'Riding the horse', 'Kneeling down',
                        'Extending his palm forward while facing the camera'], 'CE'),
    'mvbench': (['Ate the medicine.', 'Tidied up the blanket.', 'Put down the cup/glass/bottle.', 'Took the box.'], 'AC'),
    'mlvu': (['Yellow', 'Red', 'Green', 'Blue'], 'AB'),
}
MLVU_TASKS = ['plotQA', 'needle', 'ego', 'count', 'order', 'anomaly_reco', 'topic_reasoning']


def cases():
    raws = [json.loads(line) for line in open(os.path.join(HERE, 'corpus.jsonl'), encoding='utf-8')]
    out = []
    for bench, (opts, golds) in OPTIONS.items():
        for gold in golds:
            for i, raw in enumerate(raws):
                c = {'bench': bench, 'raw': raw, 'options': opts, 'gold': gold}
                if bench == 'mlvu':
                    c['task'] = MLVU_TASKS[i % len(MLVU_TASKS)]
                out.append(c)
    return out


def run(cmd, stdin):
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, encoding='utf-8')
    if p.returncode != 0:
        sys.exit(f'{" ".join(cmd)} failed ({p.returncode}): {p.stderr.strip()[-2000:]}')
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', required=True)
    ap.add_argument('--venv', required=True)
    ap.add_argument('--show', type=int, default=20, help='disagreements to print')
    a = ap.parse_args()
    py = os.path.join(a.venv, 'bin', 'python')
    all_cases = cases()
    text = ''.join(json.dumps(c) + '\n' for c in all_cases)
    passed = failed = 0
    rows, shown = [], 0
    totals = {}
    for conv, peer in CONVENTIONS:
        cmd = [py, os.path.join(HERE, 'oracle.py'), '--peer', peer]
        if peer.startswith('lmms-eval'):
            cmd += ['--lmms-root', os.path.join(a.venv, 'lmms-eval-' + peer.split('@')[1])]
        got = run(cmd, text)
        peer_dec, peer_agg = got[:len(all_cases)], {g['aggregate']: g for g in got[len(all_cases):]}
        for bench in OPTIONS:
            idx = [i for i, c in enumerate(all_cases) if c['bench'] == bench]
            ours = run([a.bin, 'score', '--benchmark', bench, '--convention', conv, '--aggregate'],
                       ''.join(json.dumps({k: v for k, v in all_cases[i].items() if k != 'bench'}) + '\n' for i in idx))
            our_agg = ours[-1]['aggregate']
            ours = ours[:-1]
            pg = peer_agg.get(bench, {})
            pa, without = pg.get('value'), set(pg.get('without') or [])
            if without:  # the peer's accuracy is over the cases that do not make it raise
                sub = [i for j, i in enumerate(idx) if j not in without]
                our_agg = run([a.bin, 'score', '--benchmark', bench, '--convention', conv, '--aggregate'],
                              ''.join(json.dumps({k: v for k, v in all_cases[i].items() if k != 'bench'}) + '\n'
                                      for i in sub))[-1]['aggregate']
            n = agree = rnd = raises = bad = 0
            for j, i in enumerate(idx):
                o, p, c = ours[j], peer_dec[i], all_cases[i]
                n += 1
                if p.get('error'):
                    raises += 1
                    ok = not o['correct'] and o['parse_failed']
                elif p.get('random'):
                    rnd += 1
                    ok = not o['correct'] and o['parse_failed'] and o['score'] == 0
                else:
                    ok = o['correct'] == p['correct'] and o['score'] == p['score'] and \
                        (not p.get('letter_known') or o['letter'] == p['letter'])
                    agree += ok
                if not ok:
                    bad += 1
                    if shown < a.show:
                        shown += 1
                        print(f'DISAGREE {conv} {bench} gold {c["gold"]} raw {json.dumps(c["raw"])}: ours {json.dumps(o)} '
                              f'peer {json.dumps(p)}')
            # VLMEvalKit's Video-MME / LongVideoBench rating is a fraction printed with %.3f, lmms-eval's
            # LongVideoBench one is rounded to 5 decimals; ours prints 10 significant digits
            tol = 1e-6
            if peer.startswith('vlmevalkit') and bench in ('videomme', 'longvideobench'):
                tol = 0.05 + 1e-9
            elif bench == 'longvideobench':
                tol = 5e-4 + 1e-9
            agg_ok = pa is None or (our_agg is not None and abs(our_agg - pa) <= tol)
            if bad == 0:
                passed += 1
            else:
                failed += 1
                print(f'FAILED: {conv} {bench}: {bad} decisions differ from {peer}')
            if agg_ok:
                passed += 1
            else:
                failed += 1
                print(f'FAILED: {conv} {bench}: aggregate {our_agg} vs {peer} {pa}')
            rows.append((conv, peer, bench, n, agree, rnd, raises, bad, our_agg, pa))
            t = totals.setdefault(conv, [0, 0, 0, 0, 0])
            for k, v in enumerate((n, agree, rnd, raises, bad)):
                t[k] += v
    print()
    print('| convention | peer | benchmark | decisions | agree | peer random | peer raises | differ | '
          'accuracy ours | accuracy peer |')
    print('|---|---|---|---:|---:|---:|---:|---:|---:|---:|')
    fmt = lambda v: '-' if v is None else f'{v:.3f}'
    for conv, peer, bench, n, agree, rnd, raises, bad, oa, pa in rows:
        print(f'| {conv} | {peer} | {bench} | {n} | {agree} | {rnd} | {raises} | {bad} | {fmt(oa)} | {fmt(pa)} |')
    for conv, (n, agree, rnd, raises, bad) in totals.items():
        print(f'| {conv} | all | all | {n} | {agree} | {rnd} | {raises} | {bad} | | |')
    print(f'\ncorpus: {len(all_cases) // 8} raw outputs x 2 gold letters x 4 benchmarks, per convention')
    print(f'TB-RESULT: {passed} passed, {failed} failed, 0 skipped')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
