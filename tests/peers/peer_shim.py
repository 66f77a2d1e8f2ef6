"""Stand-ins for what the copied VLMEvalKit functions import from vlmeval but never use on the
exact-matching path (no judge, local files). Ours, not VLMEvalKit code."""
import json
import logging
import sys
import types

import numpy as np

logger = logging.getLogger('vlmeval-oracle')
FAIL_MSG = 'Failed to obtain answer via API.'
DEBUG_MESSAGE = 'judge disabled in the oracle'


def build_judge(**kwargs):
    raise RuntimeError('the oracle runs the exact-matching path only (model=exact_matching)')


def LMUDataRoot():
    raise RuntimeError('the oracle never downloads')


def download_file(url, filename=None):
    raise RuntimeError('the oracle never downloads')


class NumpyEncoder(json.JSONEncoder):
    def default(self, obj):
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            return float(obj)
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        return super().default(obj)


# vlmeval.smp.file.load does `import validators` and asks validators.url(path): never a URL here.
validators = types.ModuleType('validators')
validators.url = lambda s: False
sys.modules.setdefault('validators', validators)
