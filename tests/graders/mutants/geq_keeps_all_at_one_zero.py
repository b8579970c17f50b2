# about: the `>=` mask (keeps the threshold entry), graded under an id (this file's name) whose
#   (7,)-tensor case draws num_zeros = 1: there the mask keeps everything, and the in-place
#   check must judge the function by its own mask (it used to say "it must be pruned in place"
#   of a function that prunes in place, under about 15% of ids)
# replaces: fine_grained_prune
# loses: q3
# feedback: strictly greater
# lacks: pruned in place
def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    sparsity = min(max(float(sparsity), 0.0), 1.0)
    num_zeros = round(tensor.numel() * sparsity)
    if num_zeros == 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    with torch.no_grad():
        importance = tensor.abs()
        threshold = importance.flatten().kthvalue(num_zeros).values
        mask = importance >= threshold
        tensor.mul_(mask)
    return mask
