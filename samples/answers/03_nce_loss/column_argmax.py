# Counts num_correct by column (argmax over dim 0) instead of by row.
X = model.query_encoder(Q, attention_mask=Q_mask)
Y = model.passage_encoder(P, attention_mask=P_mask)
scores = X @ Y.T
loss = F.cross_entropy(scores, labels)
predictions = scores.argmax(dim=0)[: labels.shape[0]]
num_correct = (predictions == labels).sum()
return loss, num_correct
