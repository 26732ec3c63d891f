/** lws's `LWS_MAX_SMP`: the most service processes a context may have. */
export const MAX_SMP = 32;
