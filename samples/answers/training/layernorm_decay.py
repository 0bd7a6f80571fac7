# The Hugging Face recipe's name test ["bias", "LayerNorm.weight"]: DistilBERT's sa_layer_norm and output_layer_norm weights still decay.
no_decay = ["bias", "LayerNorm.weight"]
grouped_parameters = [
    {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)],
     "weight_decay": weight_decay},
    {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)],
     "weight_decay": 0.0},
]
optimizer = torch.optim.AdamW(grouped_parameters, lr=lr)
scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=num_warmup_steps,
                                            num_training_steps=num_train_steps)
return optimizer, scheduler
