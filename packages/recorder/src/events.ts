/** A tiny typed event emitter: `on` returns its own unsubscribe. */

export type Listener<T> = (payload: T) => void;

export class Emitter<M extends { [K in keyof M]: unknown }> {
  private readonly listeners = new Map<keyof M, Set<Listener<never>>>();

  on<K extends keyof M>(type: K, fn: Listener<M[K]>): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(fn as Listener<never>);
    return () => this.off(type, fn);
  }

  off<K extends keyof M>(type: K, fn: Listener<M[K]>): void {
    this.listeners.get(type)?.delete(fn as Listener<never>);
  }

  emit<K extends keyof M>(type: K, payload: M[K]): void {
    for (const fn of [...(this.listeners.get(type) ?? [])]) {
      try {
        (fn as Listener<M[K]>)(payload);
      } catch (err) {
        // A listener's bug must not break recording; surface it asynchronously.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
