# Correct, written differently: the model's tuple output, then the first position.
outputs = self.encoder(input_ids=input_ids, attention_mask=attention_mask, return_dict=False)
return outputs[0][:, 0]
