/** Fixed-capacity FIFO: keeps the newest `capacity` items. */
export class Ring<T> {
  private items: T[] = [];
  constructor(readonly capacity: number) {}
  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.capacity) this.items.shift();
  }
  toArray(): T[] {
    return this.items.slice();
  }
  get size(): number {
    return this.items.length;
  }
}
