/* refsim's GPU step (the cupy backend), float64, one thread per neuron or per row.
 *
 * The model arithmetic is not here: it is the scalar twins (spike_scalar, reset_scalar,
 * lif_drift_scalar, ...) that refsim/backends/cuda_source.py translates from their
 * Python code and places above this file.  These kernels only arrange the loops, in the
 * order of one step of refsim.Network.update (docs/backends.md):
 *
 *   1. every projection takes the spikes stored at the end of the previous step:
 *      count_events (all weights one bit pattern) or gather_events (any weights);
 *   2. begin_populations: the step counter kept on the GPU moves on (so that a CUDA graph
 *      of many steps can be replayed: no kernel argument changes from step to step);
 *   3. every population in turn: lif_step (synapses decay and take their events in
 *      feeding order, then reset, output currents, exponential Euler, spike).
 *
 * No floating-point sum depends on thread timing: count_events adds integers (atomics on
 * integers give the same total in any order) and lif_step adds the weight that many
 * times in sequence; gather_events sums each target's column in the CPU order (rows
 * ascending, then storage order).  The results equal the CPU backends' bit for bit.
 */

#ifndef REFSIM_COBA  /* the plan's code of a COBA output, given by cupy_network.py */
#error "compile with -DREFSIM_COBA=<COBA_KIND of refsim/backends/plan.py>"
#endif

/* Feed with one weight for all synapses: count each target's events this step.  One warp
   per neuron that fired (the list lif_step wrote, in any order: integer counts do not
   depend on it), its 32 lanes striding over the row. */
extern "C" __global__ void count_events(
    const int *fired, const int *n_fired,  /* the presynaptic population's spikes */
    const long long start, const long long stop,  /* this feed's slice of it */
    const long long *indptr,            /* CSR of the projection */
    const int *indices,
    int *counts)                        /* per target neuron; lif_step zeroes it */
{
    const int lane = threadIdx.x & 31;
    const long long warp = (blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5;
    const long long n_warps = (gridDim.x * (long long)blockDim.x) >> 5;
    for (long long k = warp; k < *n_fired; k += n_warps) {
        const long long cell = fired[k];
        if (cell < start || cell >= stop)
            continue;
        const long long row = cell - start;
        for (long long s = indptr[row] + lane; s < indptr[row + 1]; s += 32)
            atomicAdd(&counts[indices[s]], 1);
    }
}

/* Feed with weights per synapse: each target sums the weights of its column whose
   presynaptic neuron spiked, rows ascending (the CPU's order). */
extern "C" __global__ void gather_events(
    const long long n_targets,
    const unsigned char *spiking,
    const long long start,
    const long long *colptr,            /* CSC of the projection, rows ascending per column */
    const int *rows,
    const double *weights,
    double *sums)                       /* per target neuron, written every step */
{
    const long long j = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (j >= n_targets)
        return;
    double sum = 0.0;
    for (long long e = colptr[j]; e < colptr[j + 1]; ++e)
        if (spiking[start + rows[e]])
            sum = sum + weights[e];
    sums[j] = sum;
}

/* One step of a LIF (refractory = 0) or LIFRef (refractory = 1) population with its
   merged exponential synapses and their COBA/CUBA outputs. */
extern "C" __global__ void lif_step(
    const long long n, const int narrow, const int refractory, const int hard,
    const long long *clock, const double dt,  /* clock: this step, the run's first step */
    double *V, double *last_spike, unsigned char *spiking,
    int *fired, int *n_fired,                      /* the neurons that fire, in any order */
    unsigned char *record, const long long record_rows,  /* spike flags, a row per step */
    const double *par, const long long width,      /* 7 rows: R tau V_th V_reset V_rest tau_ref I */
    double *G, const double *TAU, const int n_syn, /* conductances: n_syn rows of n */
    const int n_feeds, const int *feed_row, const int *feed_uniform, const double *feed_w0,
    const unsigned long long *feed_data,           /* int counts[n] or double sums[n] */
    const int n_out, const int *out_row, const int *out_kind, const double *out_value)
{
    const long long j = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (j >= n)
        return;
    const long long k = narrow ? 0 : j;  /* column of the parameter tables */
    const double t = (double)clock[0] * dt;  /* as the CPU loop: (first_step + i) * dt */

    /* 1. synapses: decay, then the events of each feed, in feeding order */
    for (int r = 0; r < n_syn; ++r) {
        const double tau = TAU[r * width + k];
        double g = expon_decay_scalar(G[r * n + j], tau, expon_factor_scalar(tau, dt));
        for (int f = 0; f < n_feeds; ++f) {
            if (feed_row[f] != r)
                continue;
            double events = 0.0;
            if (feed_uniform[f]) {  /* w0 added once per event, as the CPU loop does */
                int *counts = (int *)feed_data[f];
                for (int c = 0; c < counts[j]; ++c)
                    events = events + feed_w0[f];
                counts[j] = 0;
            } else {
                events = ((const double *)feed_data[f])[j];
            }
            g = g + events;
        }
        G[r * n + j] = g;
    }

    /* 2. membrane: reset from the stored spike, output currents, exponential Euler */
    const double R = par[0 * width + k], tau_m = par[1 * width + k];
    const double V_th = par[2 * width + k], V_reset = par[3 * width + k];
    const double V_rest = par[4 * width + k], tau_ref = par[5 * width + k];
    const double V_r = reset_scalar(V[j], spiking[j] ? 1.0 : 0.0, V_th, V_reset,
                                    hard ? 1.0 : 0.0);
    double current = par[6 * width + k], slope = 0.0;  /* the sum starts from direct input */
    for (int o = 0; o < n_out; ++o) {
        const double g = G[out_row[o] * n + j];
        const refsim_pair io = out_kind[o] == REFSIM_COBA ? coba_scalar(g, out_value[o], V_r)
                                                          : cuba_scalar(g, out_value[o], V_r);
        current = current + io.v0;
        slope = slope + io.v1;
    }
    const refsim_pair dj = lif_drift_scalar(V_r, current, slope, R, tau_m, V_rest);
    double V_new = exp_euler_scalar(V_r, dj.v0, exprel_scalar(dt * dj.v1), dt);
    if (refractory) {
        if ((t - last_spike[j]) < tau_ref)
            V_new = V_r;
        if (V_new >= V_th)
            last_spike[j] = t;
    }
    V[j] = V_new;
    const unsigned char spike = spike_scalar(V_new, V_th, V_reset) != 0.0;
    spiking[j] = spike;
    if (spike)
        fired[atomicAdd(n_fired, 1)] = (int)j;
    if (record_rows)
        record[((clock[0] - clock[1]) % record_rows) * n + j] = spike;
}

/* Between the projections and the populations: the clock moves on to this step, and the
   lists of the neurons that fire start empty (the projections have read the last ones). */
extern "C" __global__ void begin_populations(long long *clock, int *n_fired, const int n_pops)
{
    for (int p = threadIdx.x; p < n_pops; p += blockDim.x)
        n_fired[p] = 0;
    if (threadIdx.x == 0)
        clock[0] += 1;
}
