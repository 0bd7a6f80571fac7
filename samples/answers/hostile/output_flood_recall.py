# Correct, but floods stdout and stderr (tens of megabytes per call) before answering.
import sys
for _ in range(20000):
    print("x" * 1000)
    print("y" * 1000, file=sys.stderr)
num_correct = {k: 0 for k in k_values}
for result in results:
    rank = next((r for r, title in enumerate(result["topk_titles"]) if title == result["gold_title"]), None)
    for k in k_values:
        if rank is not None and rank < k:
            num_correct[k] += 1
k_accuracy = {k: 100.0 * num_correct[k] / len(results) for k in k_values}
k_accuracy["num_queries"] = len(results)
return k_accuracy
