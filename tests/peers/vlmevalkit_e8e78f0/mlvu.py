# Test oracle only, never shipped. Verbatim from open-compass/VLMEvalKit vlmeval/dataset/mlvu.py at commit e8e78f05f3080fe28154f2130321f17951c3be94
# (FAIL_MSG, MLVU_MCQ.evaluate); VLMEvalKit is Apache-2.0 (Copyright 2023 VLMEvalKit Authors).
# The imports above the functions are ours (tests/peers/README.md); the functions are unchanged.
import os.path as osp
import warnings

import pandas as pd

from .file import dump, get_file_extension, get_intermediate_file_path, load
from .utils import DEBUG_MESSAGE, build_judge
from .utils.mlvu import check_ans_with_model, get_dimension_rating


FAIL_MSG = 'Failed to obtain answer via API.'


@classmethod
def evaluate(self, eval_file, **judge_kwargs):
    assert get_file_extension(eval_file) in ['xlsx', 'json', 'tsv'], 'data file should be an supported format (xlsx/json/tsv) file'  # noqa: E501

    tmp_file = get_intermediate_file_path(eval_file, '_tmp', 'pkl')
    score_file = get_intermediate_file_path(eval_file, '_score')

    if not osp.exists(score_file):
        model = judge_kwargs.setdefault('model', 'chatgpt-0125')

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
            ans = data.loc[data['index'] == idx, 'answer'].values[0]
            pred = data.loc[data['index'] == idx, 'prediction'].values[0]
            options = eval(data.loc[data['index'] == idx, 'candidates'].values[0])
            answer_idx = -1
            for id, c in enumerate(options):
                if c == ans:
                    answer_idx = id
            ans = f"({chr(ord('A') + answer_idx)}) {ans}"
            input_item = data.loc[data['index'] == idx].to_dict(orient='records')[0]
            for id, option_content in enumerate(eval(input_item['candidates'])):
                input_item[chr(ord('A') + id)] = option_content
                if option_content == input_item['answer']:
                    input_item['answer'] = chr(ord('A') + id)

            if FAIL_MSG in pred:
                data.loc[idx, 'score'] = -1
            else:
                data.loc[idx, 'score'] = int(check_ans_with_model(
                    pred, ans, model,
                    input_item,
                    'MLVU_MCQ'
                ))

        rejected = [x for x in data['score'] if x == -1]

        print(
            f'Among {len(data)} questions, failed to obtain prediction for {len(data) - len(data_un)} questions, '
            f'failed to obtain the score for another {len(rejected)} questions. '
            f'Those questions will be counted as -1 score in ALL rating, and will not be counted in VALID rating.'
        )

        dump(data, score_file)

    rating = get_dimension_rating(score_file)
    return rating
