# Correct, another way: a plain loop over ranks with break, on deep copies.
mined = []
for i, example in enumerate(data):
    chosen = None
    for rank, j in enumerate(results[i]["topk_indices"]):
        passage = KB[j]
        if passage["title"] == example["gold_context"]["title"]:
            continue
        if results[i]["topk_values"][rank] > positive_scores[i] - margin:
            continue
        if has_answer(example["answers"], passage["text"]):
            continue
        chosen = passage
        break
    new_example = copy.deepcopy(example)
    new_example["hard_negative"] = chosen
    mined.append(new_example)
return mined
