/**
 * Concurrency limits for exec scans: at most `global` sessions at once, and at most `perKey` on
 * one node (the tracker costs the node's CPU and I/O, however low its priority).
 */
export class Limiter {
  private active = 0;
  private readonly perKeyActive = new Map<string, number>();
  private readonly waiting: Array<{ key: string; start: () => void }> = [];

  constructor(
    readonly global: number,
    readonly perKey: number,
  ) {
    if (!(global >= 1) || !(perKey >= 1)) throw new Error('concurrency limits must be at least 1');
  }

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.active++;
        this.perKeyActive.set(key, (this.perKeyActive.get(key) ?? 0) + 1);
        fn().then(resolve, reject).finally(() => {
          this.active--;
          this.perKeyActive.set(key, this.perKeyActive.get(key)! - 1);
          this.pump();
        });
      };
      this.waiting.push({ key, start });
      this.pump();
    });
  }

  private pump(): void {
    for (let i = 0; i < this.waiting.length && this.active < this.global; ) {
      const w = this.waiting[i];
      if ((this.perKeyActive.get(w.key) ?? 0) < this.perKey) {
        this.waiting.splice(i, 1);
        w.start();
      } else i++;
    }
  }
}
