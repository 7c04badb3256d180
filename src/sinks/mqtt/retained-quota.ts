/**
 * How much the embedded broker keeps retained, per topic tree (the first topic level: `junk/#`)
 * and in all. Aedes keeps retained messages in memory with no limit, so any client could make the
 * process grow without bound. Each message counts its payload, its topic and PER_MESSAGE_BYTES for
 * the broker's own bookkeeping (a flood of tiny messages costs memory too).
 */
export const PER_MESSAGE_BYTES = 128;

export function treeOf(topic: string): string {
  const i = topic.indexOf('/');
  return i < 0 ? topic : topic.slice(0, i);
}

export class RetainedQuota {
  private readonly sizes = new Map<string, number>();
  private readonly trees = new Map<string, number>();
  total = 0;

  constructor(
    readonly maxTotal: number,
    readonly maxPerTree: number,
  ) {}

  static cost(topic: string, payloadBytes: number): number {
    return payloadBytes === 0 ? 0 : payloadBytes + Buffer.byteLength(topic) + PER_MESSAGE_BYTES;
  }

  /** Why a retained message of `payloadBytes` on `topic` would break the quota, or undefined. */
  check(topic: string, payloadBytes: number): string | undefined {
    const grow = RetainedQuota.cost(topic, payloadBytes) - (this.sizes.get(topic) ?? 0);
    if (grow <= 0) return undefined;
    const tree = treeOf(topic);
    const inTree = this.trees.get(tree) ?? 0;
    if (inTree + grow > this.maxPerTree)
      return `retained messages under ${tree}/# would take ${inTree + grow} bytes, more than the ${this.maxPerTree} allowed per topic tree (mqtt.max_retained_bytes / 4)`;
    if (this.total + grow > this.maxTotal)
      return `retained messages would take ${this.total + grow} bytes, more than mqtt.max_retained_bytes (${this.maxTotal})`;
    return undefined;
  }

  /** The broker stored (or, with an empty payload, removed) the retained message. */
  stored(topic: string, payloadBytes: number): void {
    const next = RetainedQuota.cost(topic, payloadBytes);
    const prev = this.sizes.get(topic) ?? 0;
    if (next === prev) return;
    if (next === 0) this.sizes.delete(topic);
    else this.sizes.set(topic, next);
    const tree = treeOf(topic);
    const t = (this.trees.get(tree) ?? 0) + next - prev;
    if (t <= 0) this.trees.delete(tree);
    else this.trees.set(tree, t);
    this.total += next - prev;
  }

  get count(): number {
    return this.sizes.size;
  }
}
