/**
 * The byte stream of lws's test-client `-e` echo test: two Galois LFSRs
 * (32-bit poly 0xb4bcd35c stepped twice, 31-bit poly 0x7a5bc2e3 stepped
 * once) XORed, low byte taken, from the seeds 0xabcde and 0x23456789.
 * Sender and checker each keep one, so both sides agree byte for byte
 * with the C client.
 */
export class PolyRand {
  #a = 0xabcde;
  #b = 0x23456789;

  /** The next byte. */
  next(): number {
    this.#a = this.#a & 1 ? ((this.#a >>> 1) ^ 0xb4bcd35c) >>> 0 : this.#a >>> 1;
    this.#a = this.#a & 1 ? ((this.#a >>> 1) ^ 0xb4bcd35c) >>> 0 : this.#a >>> 1;
    this.#b = this.#b & 1 ? ((this.#b >>> 1) ^ 0x7a5bc2e3) >>> 0 : this.#b >>> 1;
    return (this.#a ^ this.#b) & 0xff;
  }

  /** `n` next bytes. */
  fill(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.next();
    return b;
  }
}
