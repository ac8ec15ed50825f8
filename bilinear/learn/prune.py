"""Pruning: rank the slots of every run by importance and remove the weakest one at a time."""

from __future__ import annotations

import torch


def slot_importance(U: torch.Tensor, V: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """Importance (R, S) of every slot: ||U_s|| * ||V_s|| * ||W_:,s||."""
    return U.norm(dim=2) * V.norm(dim=2) * W.norm(dim=1)


def prune(U: torch.Tensor, V: torch.Tensor, W: torch.Tensor,
          slots: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Remove the least important slot of every run, one at a time, until `slots` remain.

    Returns the pruned U (R,slots,nm), V (R,slots,mp), W (R,np,slots) and the removed slot indices
    (R, S - slots) in the numbering of the input."""
    R, S, _ = U.shape
    if not 1 <= slots <= S:
        raise ValueError(f"cannot prune {S} slots to {slots}")
    keep = torch.arange(S).expand(R, S).clone()
    for _ in range(S - slots):
        imp = slot_importance(U, V, W)
        weakest = imp.argmin(dim=1, keepdim=True)
        mask = torch.ones_like(imp, dtype=torch.bool).scatter_(1, weakest, False)
        rows = mask.sum(dim=1)[0]
        U = U[mask].view(R, rows, -1)
        V = V[mask].view(R, rows, -1)
        W = W.transpose(1, 2)[mask].view(R, rows, -1).transpose(1, 2)
        keep = keep[mask].view(R, rows)
    removed = torch.stack([torch.tensor(sorted(set(range(S)) - set(k.tolist())), dtype=torch.long)
                           for k in keep]) if slots < S else torch.empty(R, 0, dtype=torch.long)
    return U.contiguous(), V.contiguous(), W.contiguous(), removed
