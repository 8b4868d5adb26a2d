//! Data parallelism with rayon when the `parallel` feature is on, plain iteration
//! otherwise (wasm32 builds, or callers that want one thread).

/// `items.map(f)` in order, on all cores with `parallel`.
#[cfg(feature = "parallel")]
pub(crate) fn map<T: Send, U: Send>(items: Vec<T>, f: impl Fn(T) -> U + Sync + Send) -> Vec<U> {
    use rayon::prelude::*;
    items.into_par_iter().map(f).collect()
}

/// `items.map(f)` in order.
#[cfg(not(feature = "parallel"))]
pub(crate) fn map<T: Send, U: Send>(items: Vec<T>, f: impl Fn(T) -> U + Sync + Send) -> Vec<U> {
    items.into_iter().map(f).collect()
}

/// `slice.map(f)` in order, on all cores with `parallel`.
#[cfg(feature = "parallel")]
pub(crate) fn map_ref<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync + Send) -> Vec<U> {
    use rayon::prelude::*;
    items.par_iter().map(f).collect()
}

/// `slice.map(f)` in order.
#[cfg(not(feature = "parallel"))]
pub(crate) fn map_ref<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync + Send) -> Vec<U> {
    items.iter().map(f).collect()
}
