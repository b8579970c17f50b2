# about: nm_prune with plain Python loops over rows and groups (sorted() by magnitude, then
#   position), and a mask filled entry by entry
# replaces: nm_prune
def nm_prune(tensor: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    rows = tensor.detach().reshape(tensor.shape[0], -1)
    if type(n) is not int or type(m) is not int or m < 1 or n < 0 or n > m:
        raise ValueError("n and m must be integers with 0 <= n <= m")
    if rows.shape[1] % m != 0:
        raise ValueError(f"row length {rows.shape[1]} is not a multiple of {m}")
    mask = torch.zeros(rows.shape, dtype=torch.bool)
    magnitudes = rows.abs().tolist()
    for r, row in enumerate(magnitudes):
        for start in range(0, len(row), m):
            order = sorted(range(start, start + m), key=lambda i: (-row[i], i))
            for i in order[:n]:
                mask[r, i] = True
    mask = mask.reshape(tensor.shape).to(tensor.device)
    with torch.no_grad():
        tensor[~mask] = 0
    return mask
