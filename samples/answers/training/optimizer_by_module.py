# Correct, built differently: parameters gathered module by module, and the schedule as a hand-written LambdaLR.
decay, no_decay, seen = [], [], set()
for module in model.modules():  # a shared (tied) module comes once
    for name, parameter in module.named_parameters(recurse=False):
        if id(parameter) in seen:
            continue
        seen.add(id(parameter))
        if isinstance(module, torch.nn.LayerNorm) or name == "bias":
            no_decay.append(parameter)
        else:
            decay.append(parameter)
optimizer = torch.optim.AdamW([{"params": no_decay, "weight_decay": 0.0},
                               {"params": decay, "weight_decay": weight_decay}], lr=lr)


def lr_factor(step):
    if step < num_warmup_steps:
        return step / max(1, num_warmup_steps)
    return max(0.0, (num_train_steps - step) / max(1, num_train_steps - num_warmup_steps))


scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
return optimizer, scheduler
