# Test oracle only, never shipped. Verbatim from xjtupanda/Tango VLMEvalKit/vlmeval/dataset/longvideobench.py at commit cc815b6e6762f6cf54ae20fafefd4d5bc02f2aef
# (FAIL_MSG, LongVideoBench.evaluate); VLMEvalKit is Apache-2.0 (Copyright 2023 VLMEvalKit Authors).
# The imports above the functions are ours (tests/peers/README.md); the functions are unchanged.
import os.path as osp
import warnings

import pandas as pd

from .file import dump, get_file_extension, get_intermediate_file_path, load
from .utils import DEBUG_MESSAGE, build_judge


FAIL_MSG = 'Failed to obtain answer via API.'


@classmethod
def evaluate(self, eval_file, **judge_kwargs):
    from .utils.longvideobench import (extract_characters_regex, extract_option,
                                       get_dimension_rating)

    assert get_file_extension(eval_file) in ['xlsx', 'json', 'tsv'], 'data file should be an supported format (xlsx/json/tsv) file'  # noqa: E501

    tmp_file = get_intermediate_file_path(eval_file, '_tmp', 'pkl')
    tgt_file = get_intermediate_file_path(eval_file, '_rating', 'json')
    score_file = get_intermediate_file_path(eval_file, '_score')

    if not osp.exists(score_file):
        model = judge_kwargs.get('model', 'exact_matching')

        if model == 'exact_matching':
            model = None
        else:
            model = build_judge(**judge_kwargs)
            if not model.working():
                warnings.warn('OPENAI API is not working properly, will use exact matching for evaluation')
                warnings.warn(DEBUG_MESSAGE)
                model = None
        res = {} if not osp.exists(tmp_file) else load(tmp_file)
        res = {k: v for k, v in res.items() if FAIL_MSG not in v}

        data = load(eval_file)
        data_un = data[~pd.isna(data['prediction'])]

        for idx in data['index']:
            ans = data.loc[data['index'] == idx, 'correct_choice'].values[0]
            ans = chr(ord("A") + ans)
            pred = str(data.loc[data['index'] == idx, 'prediction'].values[0])

            if extract_characters_regex(pred) == '':
                extract_pred = extract_option(
                    model,
                    data.loc[data['index'] == idx].to_dict(orient='records')[0],
                    'LongVideoBench'
                )
                data.loc[idx, 'score'] = int(extract_pred == ans)
            else:
                data.loc[idx, 'score'] = int(extract_characters_regex(pred) == ans)

        rejected = [x for x in data['score'] if x == -1]

        print(
            f'Among {len(data)} questions, failed to obtain prediction for {len(data) - len(data_un)} questions, '
            f'failed to obtain the score for another {len(rejected)} questions. '
            f'Those questions will be counted as -1 score in ALL rating, and will not be counted in VALID rating.'
        )

        dump(data, score_file)

    rating = get_dimension_rating(score_file)
    dump(rating, tgt_file)
    return rating
