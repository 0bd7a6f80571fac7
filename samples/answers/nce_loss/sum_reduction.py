# Sums the cross-entropy over the questions instead of averaging it.
X = model.query_encoder(Q, attention_mask=Q_mask)
Y = model.passage_encoder(P, attention_mask=P_mask)
scores = X @ Y.T
loss = F.cross_entropy(scores, labels, reduction="sum")
num_correct = (scores.argmax(dim=1) == labels).sum()
return loss, num_correct
