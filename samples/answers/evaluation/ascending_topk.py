# Takes the smallest scores (largest=False): the worst candidates, smallest first.
passage_embeddings = embed_KB(KB, model, batch_size, device=device, disable_tqdm=disable_tqdm)
question_embeddings = embed_questions(data, model, batch_size, device=device, disable_tqdm=disable_tqdm)
scores = question_embeddings @ passage_embeddings.T
values, indices = torch.topk(scores, num_candidates, dim=1, largest=False)
results = []
for example, row_indices, row_values in zip(data, indices.tolist(), values.tolist()):
    results.append({
        "question": example["question"],
        "answers": example["answers"],
        "gold_title": example["gold_context"]["title"],
        "topk_titles": [KB[j]["title"] for j in row_indices],
        "topk_indices": row_indices,
        "topk_values": row_values,
    })
return results
