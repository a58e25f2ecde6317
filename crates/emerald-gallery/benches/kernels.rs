//! Dot-product kernels at the template size (512): detected SIMD path against the scalar reference.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use emerald_gallery::simd;
use rand::{Rng, SeedableRng};

fn kernels(c: &mut Criterion) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let a: Vec<i8> = (0..512).map(|_| rng.gen_range(-127i8..=127)).collect();
    let b: Vec<i8> = (0..512).map(|_| rng.gen_range(-127i8..=127)).collect();
    let q: Vec<f32> = (0..512).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    let r: Vec<f32> = (0..512).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    let isa = simd::isa();
    let mut g = c.benchmark_group("dot512");
    g.bench_function(format!("i8/{isa}"), |x| x.iter(|| simd::dot_i8(black_box(&a), black_box(&b))));
    g.bench_function("i8/scalar", |x| x.iter(|| simd::scalar::dot_i8(black_box(&a), black_box(&b))));
    g.bench_function(format!("f32xi8/{isa}"), |x| x.iter(|| simd::dot_f32_i8(black_box(&q), black_box(&a))));
    g.bench_function("f32xi8/scalar", |x| x.iter(|| simd::scalar::dot_f32_i8(black_box(&q), black_box(&a))));
    g.bench_function(format!("f32/{isa}"), |x| x.iter(|| simd::dot_f32(black_box(&q), black_box(&r))));
    g.bench_function("f32/scalar", |x| x.iter(|| simd::scalar::dot_f32(black_box(&q), black_box(&r))));
    g.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
