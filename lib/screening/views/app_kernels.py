"""The kernel manager behind ``make app``: Voilà's pre-heated kernel, not culled as a page takes it.

Voilà keeps a pre-heated kernel in a pool (the panel already built) and never culls a
kernel while it waits there. But the kernel's idle clock runs from the moment its
notebook finished: once a visitor takes it out of the pool, the culler sees a kernel idle
for as long as the pool held it, with no page connected yet, and can stop it in the
second before the page connects (the visitor then gets a dead page; seen in
``tests/test_browser.py`` with a 20 s timeout). The app's server therefore restarts a
kernel's idle clock when it notices that the kernel has left the pool.

Set in ``app/voila.json`` as ``VoilaConfiguration.multi_kernel_manager_class``; Voilà
builds its pooling manager on top of it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

__all__ = ["AppKernelManager"]


class AppKernelManager(AsyncMappingKernelManager):
    """Jupyter's kernel manager, counting a pre-heated kernel idle only from when it left Voilà's pool."""

    _pooled: frozenset = frozenset()

    def _pooled_now(self) -> frozenset:
        ids = set()
        for pool in getattr(self, "_pools", {}).values():  # Voilà's pools: futures of {"kernel_id": ...}
            for item in pool:
                if item.done() and not item.cancelled() and item.exception() is None:
                    ids.add(item.result().get("kernel_id"))
        return frozenset(ids)

    async def cull_kernels(self):
        pooled = self._pooled_now()
        for kernel_id in self._pooled - pooled:  # taken by a page since the last pass
            kernel = self._kernels.get(kernel_id)
            if kernel is not None:
                kernel.last_activity = datetime.now(UTC)
        self._pooled = pooled
        await super().cull_kernels()
