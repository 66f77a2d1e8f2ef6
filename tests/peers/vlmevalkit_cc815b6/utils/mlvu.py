# Test oracle only, never shipped. Verbatim from xjtupanda/Tango VLMEvalKit/vlmeval/dataset/utils/mlvu.py at commit cc815b6e6762f6cf54ae20fafefd4d5bc02f2aef
# (FAIL_MSG, check_ans_with_model, get_dimension_rating); VLMEvalKit is Apache-2.0 (Copyright 2023 VLMEvalKit Authors).
# The imports above the functions are ours (tests/peers/README.md); the functions are unchanged.
import re

import numpy as np

from ..file import load
from ..multiple_choice import extract_answer_from_item

FAIL_MSG = 'Failed to obtain answer via API.'


def check_ans_with_model(pred, gt, model, item, dataset_name='MLVU_MCQ'):
    flag = False

    index = gt.index("(")  # noqa
    index2 = gt.index(")")  # noqa
    gt_option = gt[index + 1: index2]

    if ")" in pred:
        index3 = pred.index(")")
        pred = pred[index3 - 1: index3]
    if pred == gt_option:
        flag = True
    elif extract_answer_from_item(model, item, dataset_name)['opt'] == item['answer']:
        flag = True

    return flag


def get_dimension_rating(data_path):
    data = load(data_path)
    result_dict = {}
    for idx, item in data.iterrows():
        if item['task_type'] not in result_dict:
            result_dict[item['task_type']] = [0, 0]
        result_dict[item['task_type']][0] += int(item['score'])
        result_dict[item['task_type']][1] += 1
    return result_dict
