# Test oracle only, never shipped. Verbatim from open-compass/VLMEvalKit vlmeval/dataset/utils/mvbench.py at commit e8e78f05f3080fe28154f2130321f17951c3be94
# (get_dimension_rating, check_ans_with_model); VLMEvalKit is Apache-2.0 (Copyright 2023 VLMEvalKit Authors).
# The imports above the functions are ours (tests/peers/README.md); the functions are unchanged.
import re

import numpy as np

from ..file import load
from ..multiple_choice import extract_answer_from_item

def get_dimension_rating(data_path):
    data = load(data_path)
    result_board = {}
    for idx, item in data.iterrows():
        if item['task_type'] not in result_board:
            result_board[item['task_type']] = [0, 0]
        result_board[item['task_type']][1] += 1
        if item['score']:
            result_board[item['task_type']][0] += 1

    correct = 0
    total = 0
    for key, value in result_board.items():
        correct += value[0]
        total += value[1]
        result_board[key].append(f'{value[0] / value[1] * 100:.2f}%')

    result_board['overall'] = [correct, total, f'{correct / total * 100:.2f}%']

    return result_board


def check_ans_with_model(pred, gt, model, item, dataset_name='MVBench'):
    flag = False

    pred_list = pred.lower().strip().split(' ')
    pred_option, _ = pred_list[0], ' '.join(pred_list[1:])
    gt_list = gt.lower().strip().split(' ')
    gt_option, gt_content = gt_list[0], ' '.join(gt_list[1:])
    if gt_content[-1] == '.':
        gt_content = gt_content[:-1]

    if pred_option.replace('.', '') in gt_option:
        flag = True
    elif gt_option in pred_option:
        flag = True
    elif extract_answer_from_item(model, item, dataset_name)['opt'] == item['answer']:
        flag = True

    return flag
