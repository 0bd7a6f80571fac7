# Correct, written differently: zero_grad first in each step, batch losses in a list, the history built with dict(), the best state cloned by hand (the loop keeps tqdm: tqdm.auto starts an extra pass over the loader, which draws a shuffle).
import functools
import math

set_seed(seed)
loader = DataLoader(MyDataset(data_train), batch_size=batch_size, shuffle=True,
                    collate_fn=functools.partial(tensorize_contrastive, use_hard_negative=use_hard_negative))
total_steps = math.ceil(len(data_train) / batch_size) * epochs
optimizer, scheduler = configure_optimization(model, num_train_steps=total_steps,
                                              num_warmup_steps=int(total_steps * warmup_fraction),
                                              lr=lr, weight_decay=weight_decay)
history = []
best = None
for epoch in range(epochs):
    model.train()
    batch_losses = []
    for batch in tqdm(loader, disable=disable_tqdm):
        optimizer.zero_grad()
        loss, _ = get_in_batch_contrastive_loss(model, batch, device)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters=model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
        batch_losses.append(loss.detach().item())
    candidates = get_topk_candidates(KB, data_val, model, batch_size=eval_batch_size,
                                     num_candidates=min(len(KB), 100), device=device)
    recall = topk_retrieval_accuracy(candidates, k_values=[1, 5, 10, 20, 100])
    history.append(dict(epoch=epoch, loss=sum(batch_losses) / len(batch_losses), recall=recall))
    if best is None or recall[5] > best[0]:
        best = (recall[5], {name: value.detach().clone() for name, value in model.state_dict().items()})
model.load_state_dict(best[1])
return history
