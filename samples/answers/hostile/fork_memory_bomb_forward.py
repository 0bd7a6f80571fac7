# Six children of 1 GiB each, every one within any per-process limit, all held at once; then
# the correct answer. Only a limit on the whole process tree stops it.
import os
ready, told = os.pipe()
children = []
for _ in range(6):
    pid = os.fork()
    if pid == 0:
        block = bytearray(1 << 30)
        block[::4096] = b"\1" * len(range(0, 1 << 30, 4096))
        os.write(told, b"x")  # this one holds its gibibyte
        os.read(ready, 1)     # until the end of the call
        os._exit(0)
    children.append(pid)
held = b""
while len(held) < 6:          # all six at once
    held += os.read(ready, 6 - len(held))
for pid in children:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
hidden_states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
return hidden_states[:, 0, :]
