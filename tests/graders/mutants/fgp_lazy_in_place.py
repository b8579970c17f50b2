# about: fine_grained_prune returns the right mask but prunes the caller's tensor only when the
#   mask is first used afterwards (a tensor subclass that prunes on its first torch call)
# replaces: fine_grained_prune
# loses: q3
# feedback: left the tensor passed in unchanged
class _LazyMask(torch.Tensor):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        target = getattr(self, "_target", None)
        if target is not None:
            self._target = None
            with torch._C.DisableTorchFunctionSubclass():
                target.mul_(self.as_subclass(torch.Tensor))
        return super().__torch_function__(func, types, args, kwargs or {})


def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    sparsity = min(max(0.0, sparsity), 1.0)
    num_elements = tensor.numel()
    num_zeros = round(num_elements * sparsity)
    if num_zeros == 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    importance = tensor.abs()
    threshold = importance.view(-1).kthvalue(num_zeros).values
    mask = (importance > threshold).as_subclass(_LazyMask)
    mask._target = tensor
    return mask
