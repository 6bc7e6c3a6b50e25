/* refsim's GPU step (the cupy backend), one thread per neuron or per row.
 *
 * The model arithmetic is not here: it is the scalar twins (spike_scalar, reset_scalar,
 * lif_drift_scalar, hh_step_scalar, ...) that refsim/backends/cupy/translate.py translates
 * from their Python code and places above this file, after the codes of the plan
 * (REFSIM_*_KIND, from refsim/backends/plan.py).  These kernels only arrange the loops,
 * in the order of one step of refsim.Network.update (docs/backends.md):
 *
 *   1. every projection takes the spikes stored at the end of the previous step:
 *      count_events (all weights one bit pattern) or gather_events (any weights); through
 *      a SpikeDelay, delay_spikes first turns them into this step's delayed input; through
 *      a SynapticDelay, delay_events adds them into the ring of arrivals; an AlignPreProj
 *      steps its presynaptic synapses (pre_synapses), then gather_events sums their output
 *      through W into its row of the target's conductances;
 *   2. begin_populations: the step counter kept on the GPU moves on, and so does the row
 *      of every delay's ring (so that a CUDA graph of many steps can be replayed: no kernel
 *      argument changes from step to step);
 *   3. every population in turn: population_step (synapses decay and take their events in
 *      feeding order, then the model's step: for each neuron what the numba backend's
 *      passes do for it, in the same order).
 *
 * No floating-point sum depends on thread timing: count_events adds integers (atomics on
 * integers give the same total in any order) and population_step adds the weight that
 * many times in sequence; gather_events and delay_events sum each target's column in the
 * CPU order (rows ascending, then storage order).  The results equal the CPU backends' bit for bit.
 *
 * The kernels use no shared memory and no barrier, so tests/support/host_cupy.py can run them on
 * the CPU, thread after thread; keep it so.
 */

/* x rounded to float32 in a network built under precision=32: a sum queued for a state */
REFSIM_FN double rounded(double x, int single) { return single ? (double)(float)x : x; }

/* x as a state holds it: rounded, then a subnormal number stored as 0 (the numba loop's
   _stored, State.data's flush_subnormals) */
REFSIM_FN double stored(double x, int single) { return flushed_scalar(rounded(x, single), single); }

/* Feed with one weight for all synapses: count each target's events this step.  One warp
   per neuron that fired (the list population_step wrote, in any order: integer counts do not
   depend on it), its 32 lanes striding over the row. */
extern "C" __global__ void count_events(
    const int *fired, const int *n_fired,  /* the presynaptic population's spikes */
    const long long start, const long long stop,  /* this feed's slice of it */
    const long long *indptr,            /* CSR of the projection */
    const int *indices,
    int *counts)                        /* per target neuron; population_step zeroes it */
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

/* x modulo a ring's length, never negative (Python's %) */
REFSIM_FN long long ring_row(long long x, long long length)
{
    const long long r = x % length;
    return r < 0 ? r + length : r;
}

/* Feed with weights per synapse: each target sums, rows ascending (the CPU's order), the
   weights of its column whose presynaptic neuron spiked, or (by_value) each weight times
   the row's input x when that is not zero (numba's _feed_values). */
extern "C" __global__ void gather_events(
    const long long n_targets,
    const unsigned char *spiking,
    const long long start,
    const double *x, const int by_value,  /* the input per row, read instead of spiking */
    const long long *colptr,            /* CSC of the projection, rows ascending per column */
    const int *rows,
    const double *weights,
    double *sums,                       /* per target neuron, written every step */
    const int single)                   /* round the sum as a state (an AlignPreProj's) */
{
    const long long j = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (j >= n_targets)
        return;
    double sum = 0.0;
    for (long long e = colptr[j]; e < colptr[j + 1]; ++e) {
        if (by_value) {
            const double input = x[rows[e]];
            if (input != 0.0)
                sum = sum + weights[e] * input;
        } else if (spiking[start + rows[e]]) {
            sum = sum + weights[e];
        }
    }
    sums[j] = rounded(sum, single);
}

/* Presynaptic neuron j's input this step (numba's _spike_input): its spike, or, through a
   SpikeDelay (a ring of `length` rows of n), the spike goes into row `at` and the input is
   the value low + frac steps back (two rows mixed when frac is not 0). */
REFSIM_FN double spike_input(long long j, long long n, const unsigned char *spiking,
                             long long start, double *ring, long long length, long long at,
                             long long low, double frac)
{
    const double spike = spiking[start + j] ? 1.0 : 0.0;
    if (length == 0)
        return spike;
    ring[at * n + j] = spike;
    double x = ring[ring_row(at - low, length) * n + j];
    if (frac != 0.0)
        x = x * (1.0 - frac) + ring[ring_row(at - low - 1, length) * n + j] * frac;
    return x;
}

/* Feed through a SpikeDelay: x[j], each presynaptic neuron's delayed input, which
   gather_events (by_value) then sums through W. */
extern "C" __global__ void delay_spikes(
    const long long n, const unsigned char *spiking, const long long start,
    double *ring, const long long length, const long long *at,  /* at: this step's row */
    const long long low, const double frac, double *x)
{
    const long long j = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (j < n)
        x[j] = spike_input(j, n, spiking, start, ring, length, *at, low, frac);
}

/* Feed through a SynapticDelay (numba's _feed_synaptic_delay), one thread per target: each
   synapse of its column whose presynaptic neuron spiked adds its weight into the ring row
   of its arrival, rows ascending (the CPU's order); then this step's row arrives into
   sums and is cleared. */
extern "C" __global__ void delay_events(
    const long long n_targets, const unsigned char *spiking, const long long start,
    const long long *colptr, const int *rows, const double *weights,
    const long long *steps,             /* per synapse, in the CSC's order */
    double *ring, const long long length, const long long *at, double *sums,
    const int single)
{
    const long long j = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (j >= n_targets)
        return;
    for (long long e = colptr[j]; e < colptr[j + 1]; ++e) {
        if (spiking[start + rows[e]]) {
            double *slot = ring + ring_row(*at + steps[e], length) * n_targets + j;
            *slot = rounded(*slot + weights[e], single);
        }
    }
    sums[j] = ring[*at * n_targets + j];
    ring[*at * n_targets + j] = 0.0;
}

/* A declared synapse (refsim.SynapseTwins), of a synaptic row or of an AlignPreProj:
   generated per network after this code (refsim/backends/cupy/declared.py); steps element
   j's states (rows of n from x) and returns its output */
REFSIM_FN double declared_synapse(int slot, long long j, long long k, double *x, long long n,
                                  const double *par, long long width, double events,
                                  int single, double dt);

/* The presynaptic side of an AlignPreProj (numba's _pre_synapses), one thread per
   presynaptic neuron: its input (spike_input), through the plasticity (states Q,
   parameters QP: rows of n), into the synapse (states S, parameters SP; the rows of
   codes.PRE_SYNAPSES); out[j] is the synapse's output, which gather_events sums through W. */
extern "C" __global__ void pre_synapses(
    const long long n, const unsigned char *spiking, const long long start,
    double *ring, const long long length, const long long *at, const long long low,
    const double frac,
    const int kind, const int slot, double *S, const double *SP, const int stp_kind, double *Q,
    const double *QP, double *out,
    const long long *clock, const double dt, const int single)
{
    const long long j = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (j >= n)
        return;
#define ROW(a, r) a[(r) * n + j]
    /* the clock still reads the previous step: begin_populations advances it */
    const double t = (double)(clock[0] + 1) * dt;
    double x = spike_input(j, n, spiking, start, ring, length, *at, low, frac);
    if (stp_kind == REFSIM_STP_KIND) {  /* QP: U, tau_f, tau_d; Q: u, x */
        const refsim_tuple3 s = stp_step_scalar(ROW(Q, 0), ROW(Q, 1), x, ROW(QP, 0),
                                                ROW(QP, 1), ROW(QP, 2), dt);
        ROW(Q, 0) = s.v0;
        ROW(Q, 1) = s.v1;
        x = s.v2;
    } else if (stp_kind == REFSIM_STD_KIND) {  /* QP: tau, U; Q: x */
        const refsim_pair s = std_step_scalar(ROW(Q, 0), x, ROW(QP, 0), ROW(QP, 1), dt);
        ROW(Q, 0) = s.v0;
        x = s.v1;
    }
    int n_states = 1, timed = 0;  /* S's rows; whether the last is an event time */
    double g;
    if (kind == REFSIM_DECLARED_SYNAPSE_KIND) {  /* its slot's twins; they store its states */
        g = declared_synapse(slot, j, j, S, n, SP, n, 0.0 + x, single, dt);
        n_states = 0;
    } else if (kind == REFSIM_EXPON_KIND) {  /* SP: tau */
        ROW(S, 0) = expon_decay_scalar(ROW(S, 0), ROW(SP, 0),
                                       expon_factor_scalar(ROW(SP, 0), dt)) + x;
        g = ROW(S, 0);
    } else if (kind == REFSIM_ALPHA_KIND) {  /* SP: tau; S: g, h */
        const refsim_pair s = alpha_step_scalar(ROW(S, 0), ROW(S, 1), x, ROW(SP, 0), dt);
        ROW(S, 0) = g = s.v0;
        ROW(S, 1) = s.v1;
        n_states = 2;
    } else if (kind == REFSIM_AMPA_KIND) {  /* SP: alpha, beta, T, T_dur, g_max;
                                               S: g, spike_arrival_time */
        const refsim_pair a = transmitter_scalar(ROW(S, 1), x, ROW(SP, 2), ROW(SP, 3), t);
        ROW(S, 1) = a.v0;
        ROW(S, 0) = g = ampa_step_scalar(ROW(S, 0), a.v1, ROW(SP, 0), ROW(SP, 1), ROW(SP, 4),
                                         dt);
        n_states = 2;
        timed = 1;
    } else if (kind == REFSIM_BIONMDA_KIND) {  /* SP: alpha1, beta1, alpha2, beta2, T,
                                                  T_dur, g_max; S: g, x, spike_arrival_time */
        const refsim_pair a = transmitter_scalar(ROW(S, 2), x, ROW(SP, 4), ROW(SP, 5), t);
        ROW(S, 2) = a.v0;
        const refsim_pair s = bionmda_step_scalar(ROW(S, 0), ROW(S, 1), a.v1, ROW(SP, 0),
                                                  ROW(SP, 1), ROW(SP, 2), ROW(SP, 3),
                                                  ROW(SP, 6), dt);
        ROW(S, 0) = g = s.v0;
        ROW(S, 1) = s.v1;
        n_states = 3;
        timed = 1;
    } else {  /* DualExpon; SP: tau_rise, tau_decay, factor; S: g_rise, g_decay */
        const refsim_tuple3 s = dual_expon_step_scalar(
            ROW(S, 0), ROW(S, 1), 0.0 + x, ROW(SP, 0), ROW(SP, 1),
            expon_factor_scalar(ROW(SP, 0), dt), expon_factor_scalar(ROW(SP, 1), dt),
            ROW(SP, 2), kind == REFSIM_DUAL_ALPHA_KIND, exp_scalar(-dt / ROW(SP, 1)), dt);
        ROW(S, 0) = s.v0;
        ROW(S, 1) = s.v1;
        g = s.v2;
        n_states = 2;
    }
    /* the states as stored (but an event time) */
    const int n_plastic = stp_kind == REFSIM_STP_KIND ? 2 : stp_kind == REFSIM_STD_KIND;
    for (int r = 0; r < n_plastic; ++r)
        ROW(Q, r) = stored(ROW(Q, r), single);
    for (int r = 0; r < n_states - timed; ++r)
        ROW(S, r) = stored(ROW(S, r), single);
    out[j] = stored(g, single);
#undef ROW
}

/* A population's arrays and numbers, as population_step receives them. */
struct Population {
    long long n, width;  /* neurons; columns of the parameter tables (1: shared) */
    int kind, method, refractory, hard, single;  /* method: plan.*_METHOD */
    double *V, *extra, *last_spike, *flag;  /* extra: n_extra rows of n; flag: ref_var */
    int n_extra, has_flag;
    const double *par;  /* rows: R tau V_th V_reset V_rest tau_ref I, then the kind's own */
    const double *G;    /* synaptic conductances: rows of n */
    int n_out;
    const int *out_row, *out_kind;
    const double *out_value;
    /* the jumps of V (numba's _add_jumps): the feeds of JUMP_ROW (DeltaProj) among the
       population's feeds, then its PoissonInputs, in the oracle's order */
    int jumps;  /* any */
    int n_feeds;
    const int *feed_row, *feed_uniform;
    const double *feed_w0;
    const unsigned long long *feed_data;
    int n_poisson;  /* per PoissonInput q: trials, chunks, certain, the tables' length;
                       its two CDF tables (full chunk, last); their ends; its weight per
                       neuron (rows of n); its key; its draws before the run */
    const long long *poisson_counts;
    const double *poisson_cdf;
    const long long *poisson_ends;
    const double *poisson_weight;
    const long long *poisson_keys, *poisson_draws;
    const int *poisson_row;  /* REFSIM_JUMP_ROW: it jumps V; else the synaptic row it jumps */
    long long step;  /* of the run: the draw is poisson_draws[q] + step */
};

/* refsim.philox.uniform_scalar: Philox4x32-10 of the counter (index, draw's two words,
   stream) under the key (k0, k1); 53 bits of its first two words, in [0, 1) */
REFSIM_FN double philox_uniform(unsigned long long index, unsigned long long draw,
                                unsigned long long stream, unsigned long long k0,
                                unsigned long long k1)
{
    const unsigned long long mask = 0xFFFFFFFFull;
    unsigned long long c0 = index, c1 = draw & mask, c2 = draw >> 32, c3 = stream;
    for (int r = 0; r < 10; ++r) {
        if (r > 0) {
            k0 = (k0 + 0x9E3779B9ull) & mask;
            k1 = (k1 + 0xBB67AE85ull) & mask;
        }
        const unsigned long long p0 = 0xD2511F53ull * c0, p1 = 0xCD9E8D57ull * c2;
        c0 = (p1 >> 32) ^ c1 ^ k0;
        c1 = p1 & mask;
        c2 = (p0 >> 32) ^ c3 ^ k1;
        c3 = p0 & mask;
    }
    return ((double)(c0 >> 5) * 67108864.0 + (double)(c1 >> 6)) * (1.0 / 9007199254740992.0);
}

/* PoissonInput q's binomial draw for neuron j (numba's _binomials, refsim.philox.binomial):
   per chunk, the count of CDF entries at or below the uniform, at most the table's end */
REFSIM_FN double poisson_count(const Population &P, int q, long long j)
{
    const long long *c = P.poisson_counts + 4 * q;
    if (c[2])  /* certain */
        return (double)c[0];
    const unsigned long long draw = (unsigned long long)(P.poisson_draws[q] + P.step);
    const unsigned long long k0 = P.poisson_keys[2 * q], k1 = P.poisson_keys[2 * q + 1];
    double total = 0.0;
    for (long long chunk = 0; chunk < c[1]; ++chunk) {
        const int row = chunk == c[1] - 1 ? 1 : 0;
        const double *table = P.poisson_cdf + (2 * q + row) * c[3];
        const double u = philox_uniform((unsigned long long)j, draw, chunk, k0, k1);
        double k = 0.0;
        for (long long t = 0; t < c[3]; ++t)
            k += u >= table[t] ? 1.0 : 0.0;
        const double end = (double)P.poisson_ends[2 * q + row];
        total += k < end ? k : end;
    }
    return total;
}

/* V after the step, plus its population's jumps in the oracle's order (defined below,
   after row_events) */
REFSIM_FN double jumped(const Population &P, long long j, double V);

/* The parameter in row `row` of the table, for the neuron whose column is k */
#define PAR(row) P.par[(row) * P.width + k]
/* The kind's own parameter `name` (codes.KIND_PARAMS), after the seven shared rows: its
   row by name, REFSIM_<KIND>_OWN_<name>, from plan.<KIND>_OWN (refsim/backends/cupy/source.py) */
#define OWN(kind, name) PAR(7 + REFSIM_##kind##_OWN_##name)

/* Neuron j's input at potential V: the direct input, then every output's current in
   registration order (numba's _currents), and their slope. */
REFSIM_FN refsim_pair input_current(const Population &P, long long j, long long k, double V)
{
    double current = PAR(6), slope = 0.0;
    for (int o = 0; o < P.n_out; ++o) {
        const double g = P.G[P.out_row[o] * P.n + j];
        const refsim_pair io = P.out_kind[o] == REFSIM_COBA_KIND
                                   ? coba_scalar(g, P.out_value[o], V)
                                   : cuba_scalar(g, P.out_value[o], V);
        current = current + io.v0;
        slope = slope + io.v1;
    }
    return refsim_make_pair(current, slope);
}

/* The refractory bookkeeping after the step (Refractory._note_spikes): the time of a
   spike, and ref_var's flag; `above` is V >= the threshold. */
REFSIM_FN void note_refractory(const Population &P, long long j, int held, int above, double t)
{
    if (!P.refractory)
        return;
    if (above)
        P.last_spike[j] = t;
    if (P.has_flag)
        P.flag[j] = held || above ? 1.0 : 0.0;
}

/* y + h * slope, element by element (integrators.explicit_step's shifted) */
REFSIM_FN refsim_tuple4 shifted(refsim_tuple4 y, refsim_tuple4 slope, double h)
{
    return refsim_make_tuple4(y.v0 + h * slope.v0, y.v1 + h * slope.v1, y.v2 + h * slope.v2,
                              y.v3 + h * slope.v3);
}

/* The derivatives of neuron j at y = (V, then the rows of extra; 0.0 past the model's):
   the input current at y's V, then the model's *_derivatives_scalar twin (numba's
   _derivatives) */
REFSIM_FN refsim_tuple4 derivatives(const Population &P, long long j, long long k,
                                    refsim_tuple4 y)
{
    const double current = input_current(P, j, k, y.v0).v0;
    const int kind = P.kind;
    if (kind == REFSIM_EXPIF_KIND || kind == REFSIM_ADEX_KIND || kind == REFSIM_QUAIF_KIND
        || kind == REFSIM_ADQUAIF_KIND) {  /* own: V_T, delta_T or V_c, c (, tau_w, a, b) */
        const int adaptive = kind == REFSIM_ADEX_KIND || kind == REFSIM_ADQUAIF_KIND;
        const double w = adaptive ? y.v1 : 0.0, tau_w = adaptive ? OWN(ADEX, tau_w) : 1.0,
                     a = adaptive ? OWN(ADEX, a) : 0.0;  /* AdQuaIF's: the same rows */
        const refsim_pair d =
            kind == REFSIM_QUAIF_KIND || kind == REFSIM_ADQUAIF_KIND
                ? quaif_derivatives_scalar(y.v0, w, current, adaptive, PAR(0), PAR(1), PAR(4),
                                           OWN(ADQUAIF, V_c), OWN(ADQUAIF, c), tau_w, a)
                : expif_derivatives_scalar(y.v0, w, current, adaptive, PAR(0), PAR(1), PAR(4),
                                           OWN(ADEX, V_T), OWN(ADEX, delta_T), tau_w, a);
        return refsim_make_tuple4(d.v0, d.v1, 0.0, 0.0);
    }
    if (kind == REFSIM_IZHIKEVICH_KIND) {  /* own: a, b, c, d, p1, p2, p3 */
        const refsim_pair d = izhikevich_derivatives_scalar(y.v0, y.v1, current, OWN(IZHIKEVICH, a),
                                                            OWN(IZHIKEVICH, b), OWN(IZHIKEVICH, p1), OWN(IZHIKEVICH, p2), OWN(IZHIKEVICH, p3));
        return refsim_make_tuple4(d.v0, d.v1, 0.0, 0.0);
    }
    if (kind == REFSIM_HH_KIND)  /* own: ENa, EK, EL, gNa, gK, gL, C */
        return hh_derivatives_scalar(y.v0, y.v1, y.v2, y.v3, current, OWN(HH, ENa), OWN(HH, EK), OWN(HH, EL),
                                     OWN(HH, gNa), OWN(HH, gK), OWN(HH, gL), OWN(HH, C));
    if (kind == REFSIM_WANG_BUZSAKI_KIND) {  /* own: ENa, EK, EL, gNa, gK, gL, C, phi */
        const refsim_tuple3 d = wang_buzsaki_derivatives_scalar(
            y.v0, y.v1, y.v2, current, OWN(WANG_BUZSAKI, ENa), OWN(WANG_BUZSAKI, EK), OWN(WANG_BUZSAKI, EL), OWN(WANG_BUZSAKI, gNa), OWN(WANG_BUZSAKI, gK), OWN(WANG_BUZSAKI, gL), OWN(WANG_BUZSAKI, C),
            OWN(WANG_BUZSAKI, phi));
        return refsim_make_tuple4(d.v0, d.v1, d.v2, 0.0);
    }
    if (kind == REFSIM_MORRIS_LECAR_KIND) {  /* own: V_Ca ... phi (12) */
        const refsim_pair d = morris_lecar_derivatives_scalar(
            y.v0, y.v1, current, OWN(MORRIS_LECAR, V_Ca), OWN(MORRIS_LECAR, V_K), OWN(MORRIS_LECAR, V_leak), OWN(MORRIS_LECAR, g_Ca), OWN(MORRIS_LECAR, g_K), OWN(MORRIS_LECAR, g_leak), OWN(MORRIS_LECAR, C),
            OWN(MORRIS_LECAR, V1), OWN(MORRIS_LECAR, V2), OWN(MORRIS_LECAR, V3), OWN(MORRIS_LECAR, V4), OWN(MORRIS_LECAR, phi));
        return refsim_make_tuple4(d.v0, d.v1, 0.0, 0.0);
    }
    if (kind == REFSIM_FITZHUGH_NAGUMO_KIND) {  /* own: a, b, tau_w */
        const refsim_pair d = fitzhugh_nagumo_derivatives_scalar(y.v0, y.v1, current, OWN(FITZHUGH_NAGUMO, a),
                                                                 OWN(FITZHUGH_NAGUMO, b), PAR(1), OWN(FITZHUGH_NAGUMO, tau_w));
        return refsim_make_tuple4(d.v0, d.v1, 0.0, 0.0);
    }
    /* Hindmarsh-Rose, the last kind; own: a, b, c, d, r, s, V_r */
    const refsim_tuple3 d = hindmarsh_rose_derivatives_scalar(
        y.v0, y.v1, y.v2, current, OWN(HINDMARSH_ROSE, a), OWN(HINDMARSH_ROSE, b), OWN(HINDMARSH_ROSE, c), OWN(HINDMARSH_ROSE, d), OWN(HINDMARSH_ROSE, r), OWN(HINDMARSH_ROSE, s), OWN(HINDMARSH_ROSE, V_r),
        PAR(1));
    return refsim_make_tuple4(d.v0, d.v1, d.v2, 0.0);
}

/* One step of integrators.explicit_step (euler, rk2 or rk4) of neuron j from y, the same
   operations in the same order as numba's _explicit_step */
REFSIM_FN refsim_tuple4 explicit_step(const Population &P, long long j, long long k,
                                      refsim_tuple4 y, double dt)
{
    const int stages = P.method == REFSIM_EULER_METHOD ? 1
                       : P.method == REFSIM_RK2_METHOD ? 2 : 4;
    refsim_tuple4 at = y, total = y;  /* where the next stage is taken; rk4's weighted sum */
    for (int stage = 0; stage < stages; ++stage) {
        const refsim_tuple4 slope = derivatives(P, j, k, at);
        const int last = stage == stages - 1;
        if (stages < 4) {  /* euler: y + dt k1; rk2: k2 at y + dt/2 k1, then y + dt k2 */
            at = shifted(y, slope, last ? dt : dt / 2);
        } else {  /* rk4: k2 and k3 at half steps, k4 at a whole one */
            total = stage == 0 ? slope : shifted(total, slope, last ? 1.0 : 2.0);
            at = shifted(y, slope, stage < 2 ? dt / 2 : dt);
        }
    }
    return stages < 4 ? at : shifted(y, total, dt / 6);
}

/* LIF, LIFRef (numba's _lif_block and _integrate): the new spike flag */
REFSIM_FN int lif_neuron(const Population &P, long long j, long long k, int spike, double t,
                         double dt)
{
    const double R = PAR(0), tau_m = PAR(1), V_th = PAR(2), V_reset = PAR(3), V_rest = PAR(4);
    const double V_r = reset_scalar(P.V[j], spike, V_th, V_reset, P.hard);
    const refsim_pair in = input_current(P, j, k, V_r);
    const refsim_pair dj = lif_drift_scalar(V_r, in.v0, in.v1, R, tau_m, V_rest);
    const double stepped = exp_euler_scalar(V_r, dj.v0, exprel_scalar(dt * dj.v1), dt);
    double V_new = jumped(P, j, stored(stepped, P.single));
    int held = 0;
    if (P.refractory) {
        held = (t - P.last_spike[j]) < PAR(5);
        if (held)
            V_new = V_r;
    }
    note_refractory(P, j, held, V_new >= V_th, t);
    P.V[j] = V_new;
    return spike_scalar(V_new, V_th, V_reset) != 0.0;
}

/* The models with a reset and at most one further state x (w, a, u or g): numba's
   _membrane_scalar for one neuron.  Reset (and the jump of x), the input at V_r, the
   step, the refractory hold, the states as stored, the spike. */
REFSIM_FN int reset_neuron(const Population &P, long long j, long long k, int spike, double t,
                           double dt)
{
    const double R = PAR(0), tau_m = PAR(1), V_th = PAR(2), V_reset = PAR(3), V_rest = PAR(4);
    const int kind = P.kind;
    const int adaptive = kind == REFSIM_ADEX_KIND || kind == REFSIM_ADQUAIF_KIND;
    double V_r, x_r = P.n_extra ? P.extra[j] : 0.0;
    if (kind == REFSIM_IZHIKEVICH_KIND) {  /* own: a, b, c, d, p1, p2, p3 */
        const refsim_pair r = izhikevich_reset_scalar(P.V[j], x_r, spike, OWN(IZHIKEVICH, c), OWN(IZHIKEVICH, d));
        V_r = r.v0;
        x_r = r.v1;
    } else if (kind == REFSIM_IF_KIND) {
        V_r = if_reset_scalar(P.V[j], spike, V_th, P.hard);
    } else {
        V_r = reset_scalar(P.V[j], spike, V_th, V_reset, P.hard);
        if (kind == REFSIM_ALIF_KIND)
            x_r = x_r + (spike ? 1.0 : 0.0);
        else if (adaptive)  /* own: ..., tau_w, a, b */
            x_r = x_r + OWN(ADEX, b) * (spike ? 1.0 : 0.0);  /* AdQuaIF's b: the same row */
    }
    refsim_pair next;  /* V, x */
    const refsim_pair in = P.method == REFSIM_EXP_EULER_METHOD ? input_current(P, j, k, V_r)
                                                              : refsim_make_pair(0.0, 0.0);
    const double current = in.v0, slope = in.v1;
    if (P.method != REFSIM_EXP_EULER_METHOD) {  /* the whole system, the input per stage */
        const refsim_tuple4 y = explicit_step(P, j, k, refsim_make_tuple4(V_r, x_r, 0.0, 0.0),
                                              dt);
        next = refsim_make_pair(y.v0, y.v1);
    } else if (kind == REFSIM_ALIF_KIND) {  /* own: beta, tau_a */
        next = alif_step_scalar(V_r, x_r, current, slope, R, tau_m, V_rest, OWN(ALIF, tau_a), dt);
    } else if (kind == REFSIM_IZHIKEVICH_KIND) {
        next = izhikevich_step_scalar(V_r, x_r, current, slope, OWN(IZHIKEVICH, a), OWN(IZHIKEVICH, b), OWN(IZHIKEVICH, p1),
                                      OWN(IZHIKEVICH, p2), OWN(IZHIKEVICH, p3), dt);
    } else if (kind == REFSIM_IF_KIND) {
        next = refsim_make_pair(if_step_scalar(V_r, current, slope, R, tau_m, dt), x_r);
    } else if (kind == REFSIM_CUBALIF_KIND || kind == REFSIM_COBALIF_KIND) {
        const int coba = kind == REFSIM_COBALIF_KIND;  /* own: tau_syn (, E); the jumps go to
                                                          g, between its decay and V's step */
        const double g = jumped(P, j, lif_synapse_decay_scalar(x_r, OWN(COBALIF, tau_syn), dt));
        next = refsim_make_pair(
            lif_synapse_membrane_scalar(V_r, g, current, slope, coba, R, tau_m, V_rest,
                                        coba ? OWN(COBALIF, E) : 0.0, dt), g);
    } else if (kind == REFSIM_QUAIF_KIND || kind == REFSIM_ADQUAIF_KIND) {
        next = quaif_step_scalar(V_r, x_r, current, slope, adaptive, R, tau_m, V_rest, OWN(ADQUAIF, V_c),
                                 OWN(ADQUAIF, c), adaptive ? OWN(ADQUAIF, tau_w) : 1.0, adaptive ? OWN(ADQUAIF, a) : 0.0, dt);
    } else {  /* ExpIF, AdExIF; own: V_T, delta_T (, tau_w, a, b) */
        next = expif_step_scalar(V_r, x_r, current, slope, adaptive, R, tau_m, V_rest, OWN(ADEX, V_T),
                                 OWN(ADEX, delta_T), adaptive ? OWN(ADEX, tau_w) : 1.0, adaptive ? OWN(ADEX, a) : 0.0, dt);
    }
    const int synaptic = kind == REFSIM_CUBALIF_KIND || kind == REFSIM_COBALIF_KIND;
    /* (held or not: it takes the events; CubaLIF's and CobaLIF's g took them above) */
    const double V_jumped = synaptic ? next.v0 : jumped(P, j, next.v0);
    if (P.jumps && P.method == REFSIM_EXP_EULER_METHOD) {  /* the second state steps with
                                                              the jumped V (numba's
                                                              _recovery_after_jumps) */
        if (kind == REFSIM_IZHIKEVICH_KIND)
            next.v1 = izhikevich_recovery_scalar(x_r, V_jumped, OWN(IZHIKEVICH, a), OWN(IZHIKEVICH, b), dt);
        else if (kind == REFSIM_ADEX_KIND)
            next.v1 = adaptation_step_scalar(x_r, V_jumped, V_rest, OWN(ADEX, tau_w), OWN(ADEX, a), dt);
        else if (kind == REFSIM_ADQUAIF_KIND)
            next.v1 = adaptation_step_scalar(x_r, V_jumped, V_rest, OWN(ADQUAIF, tau_w), OWN(ADQUAIF, a), dt);
    }
    const int held = P.refractory && (t - P.last_spike[j]) < PAR(5);
    const double V_new = stored(held ? V_r : V_jumped, P.single);
    const double x_new = stored(held ? x_r : next.v1, P.single);
    note_refractory(P, j, held, V_new >= V_th, t);
    P.V[j] = V_new;
    if (P.n_extra)
        P.extra[j] = x_new;
    if (kind == REFSIM_ALIF_KIND)
        return alif_spike_scalar(V_new, x_new, V_th, V_reset, OWN(ALIF, beta)) != 0.0;
    if (kind == REFSIM_IZHIKEVICH_KIND || kind == REFSIM_IF_KIND)
        return level_spike_scalar(V_new, V_th) != 0.0;
    return spike_scalar(V_new, V_th, V_reset) != 0.0;
}

/* Gif, GifRef (numba's _gif_block): states I1, I2 and the moving threshold in extra */
REFSIM_FN int gif_neuron(const Population &P, long long j, long long k, int spike, double t,
                         double dt)
{
    const long long n = P.n;  /* own: V_th_inf, V_th_reset, a, b, k1, k2, R1, R2, A1, A2 */
    double *I1 = P.extra, *I2 = P.extra + n, *th = P.extra + 2 * n;
    const refsim_tuple4 r = gif_reset_scalar(P.V[j], I1[j], I2[j], th[j], spike, PAR(3),
                                             OWN(GIF, V_th_reset), OWN(GIF, R1), OWN(GIF, R2), OWN(GIF, A1), OWN(GIF, A2), P.hard);
    const refsim_pair in = input_current(P, j, k, r.v0);
    const refsim_tuple4 s = gif_step_scalar(r.v0, r.v1, r.v2, r.v3, in.v0, in.v1,
                                            !P.refractory, PAR(0), PAR(1), PAR(4), OWN(GIF, V_th_inf),
                                            OWN(GIF, a), OWN(GIF, b), OWN(GIF, k1), OWN(GIF, k2), dt);
    const double V_jumped = jumped(P, j, s.v0);  /* (held or not: it takes the events) */
    const int held = P.refractory && (t - P.last_spike[j]) < PAR(5);
    P.V[j] = stored(held ? r.v0 : V_jumped, P.single);
    I1[j] = stored(held ? r.v1 : s.v1, P.single);
    I2[j] = stored(held ? r.v2 : s.v2, P.single);
    th[j] = stored(held ? r.v3 : s.v3, P.single);
    note_refractory(P, j, held, P.V[j] >= th[j], t);  /* against the state threshold */
    return spike_scalar(P.V[j], th[j], PAR(3)) != 0.0;
}

/* The models without reset (numba's _continuous_scalar): the input at the old potential
   and the model's step, or an explicit method on the whole system (the input at each
   stage's potential); the level spike (V - V_th) / V_th >= 0 */
REFSIM_FN int continuous_neuron(const Population &P, long long j, long long k, double dt)
{
    const long long n = P.n;
    double *x = P.extra;  /* the rows of codes.NEURON_KINDS: x[r * n + j] */
    const double V = P.V[j], tau = PAR(1);
    double V_new;
    if (P.method != REFSIM_EXP_EULER_METHOD) {
        const refsim_tuple4 y = explicit_step(
            P, j, k, refsim_make_tuple4(V, P.n_extra > 0 ? x[j] : 0.0,
                                        P.n_extra > 1 ? x[n + j] : 0.0,
                                        P.n_extra > 2 ? x[2 * n + j] : 0.0), dt);
        const double rows[3] = {y.v1, y.v2, y.v3};
        V_new = y.v0;
        for (int r = 0; r < P.n_extra; ++r)
            x[r * n + j] = rows[r];
    } else if (P.kind == REFSIM_HH_KIND) {  /* own: ENa, EK, EL, gNa, gK, gL, C; extra: m, h, n */
        const refsim_tuple4 s = hh_step_scalar(V, x[j], x[n + j], x[2 * n + j],
                                               input_current(P, j, k, V).v0, OWN(HH, ENa), OWN(HH, EK),
                                               OWN(HH, EL), OWN(HH, gNa), OWN(HH, gK), OWN(HH, gL), OWN(HH, C), dt);
        V_new = s.v0;
        x[j] = s.v1;
        x[n + j] = s.v2;
        x[2 * n + j] = s.v3;
    } else if (P.kind == REFSIM_WANG_BUZSAKI_KIND) {  /* own: ..., C, phi; extra: h, n */
        const refsim_tuple3 s = wang_buzsaki_step_scalar(
            V, x[j], x[n + j], input_current(P, j, k, V).v0, OWN(WANG_BUZSAKI, ENa), OWN(WANG_BUZSAKI, EK), OWN(WANG_BUZSAKI, EL), OWN(WANG_BUZSAKI, gNa),
            OWN(WANG_BUZSAKI, gK), OWN(WANG_BUZSAKI, gL), OWN(WANG_BUZSAKI, C), OWN(WANG_BUZSAKI, phi), dt);
        V_new = s.v0;
        x[j] = s.v1;
        x[n + j] = s.v2;
    } else if (P.kind == REFSIM_MORRIS_LECAR_KIND) {  /* own: V_Ca ... phi (12); extra: W */
        const refsim_pair s = morris_lecar_step_scalar(
            V, x[j], input_current(P, j, k, V).v0, OWN(MORRIS_LECAR, V_Ca), OWN(MORRIS_LECAR, V_K), OWN(MORRIS_LECAR, V_leak), OWN(MORRIS_LECAR, g_Ca), OWN(MORRIS_LECAR, g_K),
            OWN(MORRIS_LECAR, g_leak), OWN(MORRIS_LECAR, C), OWN(MORRIS_LECAR, V1), OWN(MORRIS_LECAR, V2), OWN(MORRIS_LECAR, V3), OWN(MORRIS_LECAR, V4), OWN(MORRIS_LECAR, phi), dt);
        V_new = s.v0;
        x[j] = s.v1;
    } else if (P.kind == REFSIM_FITZHUGH_NAGUMO_KIND) {  /* own: a, b, tau_w; extra: w */
        const refsim_pair s = fitzhugh_nagumo_step_scalar(
            V, x[j], input_current(P, j, k, V).v0, OWN(FITZHUGH_NAGUMO, a), OWN(FITZHUGH_NAGUMO, b), tau, OWN(FITZHUGH_NAGUMO, tau_w), dt);
        V_new = s.v0;
        x[j] = s.v1;
    } else {  /* Hindmarsh-Rose; own: a, b, c, d, r, s, V_r; extra: y, z */
        const refsim_tuple3 s = hindmarsh_rose_step_scalar(
            V, x[j], x[n + j], input_current(P, j, k, V).v0, OWN(HINDMARSH_ROSE, a), OWN(HINDMARSH_ROSE, b), OWN(HINDMARSH_ROSE, c), OWN(HINDMARSH_ROSE, d),
            OWN(HINDMARSH_ROSE, r), OWN(HINDMARSH_ROSE, s), OWN(HINDMARSH_ROSE, V_r), tau, dt);
        V_new = s.v0;
        x[j] = s.v1;
        x[n + j] = s.v2;
    }
    P.V[j] = stored(jumped(P, j, V_new), P.single);
    for (int r = 0; r < P.n_extra; ++r)
        x[r * n + j] = stored(x[r * n + j], P.single);
    return level_spike_scalar(P.V[j], PAR(2)) != 0.0;
}

/* This step's events of synaptic row r for neuron j: each feed's in feeding order, added
   to `start` (numba's _synapses and _dual_expon); `fed` says whether any feed takes row r */
REFSIM_FN double row_events(int r, long long j, double start, int single, int *fed,
                            const int n_feeds, const int *feed_row, const int *feed_uniform,
                            const double *feed_w0, const unsigned long long *feed_data)
{
    double sum = start;
    *fed = 0;
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
        sum = stored(sum + events, single);
        *fed = 1;
    }
    return sum;
}

REFSIM_FN double jumped(const Population &P, long long j, double V)
{
    if (!P.jumps)
        return V;
    int fed;  /* the DeltaProj's buffers in feeding order, then each PoissonInput's draw */
    V = row_events(REFSIM_JUMP_ROW, j, stored(V, P.single), P.single, &fed, P.n_feeds,
                   P.feed_row, P.feed_uniform, P.feed_w0, P.feed_data);
    for (int q = 0; q < P.n_poisson; ++q)
        if (P.poisson_row[q] == REFSIM_JUMP_ROW)
            V = stored(V + P.poisson_weight[q * P.n + j] * poisson_count(P, q, j), P.single);
    return V;
}

/* The PoissonInputs of row code r (numba's _row_jumps): a synaptic row's, after its feeds'
   events, or REFSIM_EARLY_ROW - r, before them (a synapse its projection steps itself):
   `value` plus each one's weight times its count, in order; *fed set by any */
REFSIM_FN double row_poisson(const Population &P, int r, long long j, double value, int *fed)
{
    for (int q = 0; q < P.n_poisson; ++q) {
        if (P.poisson_row[q] != r)
            continue;
        value = stored(value + P.poisson_weight[q * P.n + j] * poisson_count(P, q, j), P.single);
        *fed = 1;
    }
    return value;
}

/* A neuron of a declared model (refsim.NeuronTwins): generated per network after this
   code, one branch per model's slot (refsim/backends/cupy/declared.py) */
REFSIM_FN int declared_neuron(const Population &P, long long j, long long k, int slot,
                              int spike, double t, double dt);

/* One step of a population: its merged synapses (an Expon decays, then adds the events
   of each feed in feeding order; a DualExpon sums its events, then steps), then each
   neuron's step by the model's kind. */
extern "C" __global__ void population_step(
    const long long n, const int kind, const int slot, const int method, const int narrow, const int refractory, const int hard,
    const int single, const long long *clock, const double dt,  /* clock: this step, first */
    double *V, double *extra, const int n_extra, double *last_spike, double *flag,
    const int has_flag,
    unsigned char *spiking, int *fired, int *n_fired,   /* the neurons that fire, any order */
    unsigned char *record, const long long record_rows, /* spike flags, a row per step */
    const double *par, const long long width,
    double *G, const double *TAU, const int n_syn,      /* conductances: n_syn rows of n */
    const int *syn_kind,                                /* per row: REFSIM_EXPON_KIND ... */
    const int *syn_slot,                    /* per row: a declared synapse's slot, or -1 */
    double *STATE, const int depth,   /* per row: its states (a DualExpon's g_rise, g_decay;
                                         a declared synapse's), `depth` rows of n */
    const double *PARAM, const int n_params,  /* per row: its parameters (a DualExpon's
                                                 tau_rise, factor), n_params rows of width */
    const int n_feeds, const int *feed_row, const int *feed_uniform, const double *feed_w0,
    const unsigned long long *feed_data,                /* int counts[n] or double sums[n] */
    const int n_out, const int *out_row, const int *out_kind, const double *out_value,
    const int jumps, const int n_poisson, const long long *poisson_counts,
    const double *poisson_cdf, const long long *poisson_ends, const double *poisson_weight,
    const long long *poisson_keys, const long long *poisson_draws, const int *poisson_rows)
{
    const long long j = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (j >= n)
        return;
    const long long k = narrow ? 0 : j;  /* column of the parameter tables */
    const double t = (double)clock[0] * dt;  /* as the CPU loop: (first_step + i) * dt */
    const Population P = {n, width, kind, method, refractory, hard, single, V, extra,
                          last_spike, flag, n_extra, has_flag, par, G, n_out, out_row,
                          out_kind, out_value, jumps, n_feeds, feed_row, feed_uniform,
                          feed_w0, feed_data, n_poisson, poisson_counts, poisson_cdf,
                          poisson_ends, poisson_weight, poisson_keys, poisson_draws,
                          poisson_rows, clock[0] - clock[1]};

    /* 1. synapses */
    for (int r = 0; r < n_syn; ++r) {
        if (syn_kind[r] == REFSIM_PRE_OUTPUT_KIND)  /* filled by its AlignPreProj */
            continue;
        if (syn_kind[r] == REFSIM_CURRENT_PROJ_KIND) {  /* a CurrentProj's comm(x): 0.0 +
                                                          its feed's events (0.0: none) */
            int any;
            G[r * n + j] = row_events(r, j, 0.0, single, &any, n_feeds, feed_row, feed_uniform,
                                      feed_w0, feed_data);
            continue;
        }
        const double tau = TAU[r * width + k];
        int fed;
        if (syn_kind[r] == REFSIM_EXPON_KIND) {
            int early = 0;  /* the inputs aimed at a synapse its projection steps: first */
            double g = row_poisson(
                P, REFSIM_EARLY_ROW - r, j,
                expon_decay_scalar(G[r * n + j], tau, expon_factor_scalar(tau, dt)), &early);
            g = row_events(r, j, g, single, &fed, n_feeds, feed_row, feed_uniform, feed_w0,
                           feed_data);
            g = row_poisson(P, r, j, g, &fed);
            G[r * n + j] = fed || early ? g : stored(g, single);
            continue;
        }
        /* DualExpon and a declared synapse: the events 0.0 + x_1 + x_2 ... (the oracle's
           sum_delta_inputs), then the step twin */
        double *x = STATE + (long long)depth * r * n;
        const double *own = PARAM + (long long)n_params * r * width;
        int early = 0;
        double events = row_poisson(P, REFSIM_EARLY_ROW - r, j, 0.0, &early);
        events = row_events(r, j, events, single, &fed, n_feeds, feed_row, feed_uniform,
                            feed_w0, feed_data);
        events = row_poisson(P, r, j, events, &fed);
        fed = fed || early;
        if (syn_kind[r] == REFSIM_DECLARED_SYNAPSE_KIND) {
            G[r * n + j] = declared_synapse(syn_slot[r], j, k, x, n, own, width,
                                            fed ? events : 0.0, single, dt);
            continue;
        }
        double *rise = x, *decay = x + n;
        const double tau_rise = own[k], factor = own[width + k];
        const refsim_tuple3 s = dual_expon_step_scalar(
            rise[j], decay[j], fed ? events : 0.0, tau_rise, tau,
            expon_factor_scalar(tau_rise, dt), expon_factor_scalar(tau, dt), factor,
            syn_kind[r] == REFSIM_DUAL_ALPHA_KIND, exp_scalar(-dt / tau), dt);
        rise[j] = stored(s.v0, single);
        decay[j] = stored(s.v1, single);
        G[r * n + j] = stored(s.v2, single);
    }

    /* 2. the neuron */
    const int before = spiking[j];
    int spike;
    if (kind == REFSIM_DECLARED_KIND)  /* slot: its model's branch */
        spike = declared_neuron(P, j, k, slot, before, t, dt);
    else if (kind == REFSIM_LIF_KIND)
        spike = lif_neuron(P, j, k, before, t, dt);
    else if (kind == REFSIM_GIF_KIND)
        spike = gif_neuron(P, j, k, before, t, dt);
    else if (kind >= REFSIM_HH_KIND)
        spike = continuous_neuron(P, j, k, dt);
    else
        spike = reset_neuron(P, j, k, before, t, dt);
    spiking[j] = (unsigned char)spike;
    if (spike)
        fired[atomicAdd(n_fired, 1)] = (int)j;
    if (record_rows)
        record[((clock[0] - clock[1]) % record_rows) * n + j] = (unsigned char)spike;
}

/* Between the projections and the populations: the clock moves on to this step, the
   lists of the neurons that fire start empty (the projections have read the last ones), and
   each delay's ring moves on a row (one of length 0: no delay). */
extern "C" __global__ void begin_populations(long long *clock, int *n_fired, const int n_pops,
                                             long long *ring_at, const long long *ring_length,
                                             const int n_rings)
{
    for (int p = threadIdx.x; p < n_pops; p += blockDim.x)
        n_fired[p] = 0;
    for (int r = threadIdx.x; r < n_rings; r += blockDim.x)
        if (ring_length[r])
            ring_at[r] = (ring_at[r] + 1) % ring_length[r];
    if (threadIdx.x == 0)
        clock[0] += 1;
}
