# Allocates memory until something gives (64 GiB, a gibibyte at a time, each one touched).
hoard = []
for _ in range(64):
    hoard.append(bytearray(1 << 30))
return hoard
