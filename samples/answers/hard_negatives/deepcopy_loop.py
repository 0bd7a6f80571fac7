# Correct, written differently: copy.deepcopy of each example, an index loop, titles from topk_titles.
import copy
mined = []
for i in range(len(data)):
    example = copy.deepcopy(data[i])
    example["hard_negative"] = None
    candidate_titles = results[i]["topk_titles"]
    for rank in range(len(candidate_titles)):
        if candidate_titles[rank].strip() != data[i]["gold_context"]["title"].strip():
            example["hard_negative"] = copy.deepcopy(KB[results[i]["topk_indices"][rank]])
            break
    mined.append(example)
return mined
