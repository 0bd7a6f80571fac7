# Never zeroes the gradients: each step uses the sum of every gradient so far.
set_seed(seed)
collate_fn = lambda samples: tensorize_contrastive(samples, use_hard_negative=use_hard_negative)
loader = DataLoader(MyDataset(data_train), batch_size, shuffle=True, collate_fn=collate_fn)
num_train_steps = len(loader) * epochs
optimizer, scheduler = configure_optimization(model, num_train_steps, int(warmup_fraction * num_train_steps),
                                              lr, weight_decay=weight_decay)
history, best_r5, best_state = [], -1.0, None
for epoch in range(epochs):
    model.train()
    loss_total = 0.0
    for batch in tqdm(loader, disable=disable_tqdm, desc=f"epoch {epoch}"):
        loss, _ = get_in_batch_contrastive_loss(model, batch, device=device)
        loss_total += loss.item()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()

    results = get_topk_candidates(KB, data_val, model, eval_batch_size, min(100, len(KB)), device=device)
    recall = topk_retrieval_accuracy(results)
    history.append({"epoch": epoch, "loss": loss_total / len(loader), "recall": recall})
    print(f"epoch {epoch:3d} | loss {loss_total / len(loader):8.4f} | R@5 {recall[5]:5.1f}")
    if recall[5] > best_r5:
        best_r5, best_state = recall[5], copy.deepcopy(model.state_dict())
model.load_state_dict(best_state)
return history
