"""Prints the C table of tests/test_scoring.c: every example of issue 16, on every benchmark it
concerns, with the decision of each convention's peer as the peer's own functions make it
(oracle.py). Regenerate with
    tests/.venv-peers/bin/python tests/peers/issue_examples.py > /tmp/table.c
and paste between the markers in tests/test_scoring.c."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.environ.get('TB_PEERS_VENV', os.path.join(HERE, '..', '.venv-peers'))
OPTS = {
    'videomme': (['Apples.', 'Candles.', 'Berries.', 'The three kinds are of the same number.'], 'C'),
    'longvideobench': (['Walking the horse', 'Punching towards the camera', 'Berries', 'Kneeling down',
                        'Extending his palm forward while facing the camera'], 'C'),
    'mvbench': (['Ate the medicine.', 'Tidied up the blanket.', 'Put down the cup/glass/bottle.', 'Took the box.'], 'C'),
    'mlvu': (['Yellow', 'Red', 'Green', 'Blue'], 'C'),
}
ALL = list(OPTS)
EXAMPLES = [  # (raw, benchmarks, gold override)
    # LongVideoBench under lmms-eval: all eight prefixes, properly separated
    ('Best answer: C', ALL, None), ('Best option: C', ALL, None), ('Best option:(C', ALL, None),
    ('Best option: (C) Berries', ALL, None),
    # Unicode whitespace, punctuation and word boundaries
    ('\u3000B', ALL, 'B'), ('B\u3002', ALL, 'B'), ('\u7b54\u6848\uff1aB', ALL, 'B'), ('\uff08B\uff09', ALL, 'B'),
    ('\u00a0B', ALL, 'B'), ('\u2003B', ALL, 'B'), ('\u200bB', ALL, 'B'), ('\ufeffB', ALL, 'B'), ('\u001fB', ALL, 'B'),
    # lmms-eval's MVBench parser deletes periods and punctuation around spaces
    ('i.e. C', ALL, None), ('N.B. the answer is C', ALL, None), ('the U.S.A. team, so B', ALL, 'B'),
    # length guards in characters, not bytes
    ('(c)' + '.' * 70, ['mvbench'], None), ('green ' + '\u00e9' * 20, ['mlvu'], None),
    # aggregation: API failures and missing predictions
    ('Failed to obtain answer via API.', ALL, None), ('', ALL, None), ('NA', ALL, 'A'), ('None', ALL, None),
    # upstream has moved: extract_mcq_answer, can_infer's verbose answers
    ('Answer: B', ALL, 'B'), ('Final Answer: C', ALL, None), ('**B**', ALL, 'B'), ('the answer is c', ALL, None),
    ('The answer is C, because the man holds it.', ALL, None),
]
PEERS = [('DS_CONV_VLMEVALKIT', 'vlmevalkit@cc815b6'), ('DS_CONV_LMMS_EVAL', 'lmms-eval@0.7.1'),
         ('DS_CONV_VLMEVALKIT_E8E78F0', 'vlmevalkit@e8e78f0'), ('DS_CONV_LMMS_EVAL_073', 'lmms-eval@0.7.3')]
BENCH = {'videomme': 'DS_BENCH_VIDEOMME', 'longvideobench': 'DS_BENCH_LONGVIDEOBENCH', 'mvbench': 'DS_BENCH_MVBENCH',
         'mlvu': 'DS_BENCH_MLVU'}


def c_str(s):
    out = '"'
    for ch in s.encode('utf-8'):
        c = chr(ch)
        out += c if 32 <= ch < 127 and c not in '"\\?' else f'\\{ch:03o}'
    return out + '"'


cases = []
for raw, benches, gold in EXAMPLES:
    for b in benches:
        opts, g = OPTS[b]
        cases.append({'bench': b, 'raw': raw, 'options': opts, 'gold': gold or g, 'task': 'plotQA'})
text = ''.join(json.dumps(c) + '\n' for c in cases)
rows = {}
for conv, peer in PEERS:
    cmd = [os.path.join(VENV, 'bin', 'python'), os.path.join(HERE, 'oracle.py'), '--peer', peer]
    if peer.startswith('lmms'):
        cmd += ['--lmms-root', os.path.join(VENV, 'lmms-eval-' + peer.split('@')[1])]
    out = [json.loads(x) for x in subprocess.run(cmd, input=text, capture_output=True, text=True, check=True).stdout.splitlines()]
    for c, d in zip(cases, out):
        letter = "'?'" if not d.get('letter_known') else (f"'{d['letter']}'" if d.get('letter') else '0')
        if d.get('error'):
            score, note = '0', ' /* the peer raises */'
        elif d.get('random'):
            score, note = '0', ' /* the peer picks at random */'
        else:
            score, note = ('NAN' if d['score'] is None else f"{d['score']:g}"), ''
        rows.setdefault((c['raw'], c['bench'], c['gold']), []).append(
            f"    {{{BENCH[c['bench']]}, {conv}, {c_str(c['raw'])}, '{c['gold']}', {letter}, "
            f"{int(bool(d['correct']))}, {score}}},{note}")
for v in rows.values():
    print('\n'.join(v))
