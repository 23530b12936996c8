// Runs async units one after another, in submission order (the store's atomicity).
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(unit: () => Promise<T>): Promise<T> {
    const result = this.tail.then(unit, unit);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
