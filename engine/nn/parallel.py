"""`torch.nn.parallel`: DataParallel and DistributedDataParallel wrap a module. The engine runs on
one device, so they call it unchanged; the wrapped module stays at `.module` (as state_dict keys
`module.<name>` show), which is what scripts that wrap their model rely on."""
from .modules.module import Module


class DataParallel(Module):
    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module
        self.device_ids = list(device_ids) if device_ids is not None else []
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


class DistributedDataParallel(DataParallel):
    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, **kwargs):
        super().__init__(module, device_ids, output_device, dim)

    def no_sync(self):
        import contextlib
        return contextlib.nullcontext()


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0, module_kwargs=None):
    if not isinstance(inputs, tuple):
        inputs = (inputs,)
    return module(*inputs, **(module_kwargs or {}))
