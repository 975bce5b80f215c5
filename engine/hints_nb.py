"""A memory hint for the kernels: prefetch one element of an array (no effect on any result).

The compiled bar loop (engine/step_nb.py ``run_targets_nb``) jumps from one target event to
the next; the bar it lands on is far from the last one it read, so its open, high, low, close,
volume and mark (rows of ``mkt`` that lie n_bars x 8 bytes apart) each miss the CPU caches.
Knowing the next event's bar in advance, the loop asks for those cache lines one event early
with LLVM's ``llvm.prefetch`` (a hint: the CPU may ignore it; it never faults, even out of
bounds, and changes no value).
"""

from __future__ import annotations

from llvmlite import binding as _llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

# opaque pointers from LLVM 15 on: the intrinsic's name mangles the pointer type
_NAME = "llvm.prefetch.p0" if _llvm.llvm_version_info[0] >= 15 else "llvm.prefetch.p0i8"


@intrinsic
def prefetch_nb(typingctx, arr, idx):
    """Prefetch ``arr[idx]`` (``idx``: a tuple of integers, one per dimension) for reading
    into all cache levels."""
    if not (isinstance(arr, types.Array) and isinstance(idx, types.BaseTuple)
            and len(idx) == arr.ndim and all(isinstance(t, types.Integer) for t in idx)):
        return None

    def codegen(context, builder, sig, args):
        aryty, idxty = sig.args
        ary = context.make_array(aryty)(context, builder, args[0])
        idx = [context.cast(builder, v, t, types.intp)
               for v, t in zip(cgutils.unpack_tuple(builder, args[1], len(idxty)), idxty,
                                   strict=True)]
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, idx, wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, _NAME)
        # (address, 0 = read, 3 = keep in all cache levels, 1 = data cache)
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, idx), codegen
