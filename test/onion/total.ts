/** For the decoders' property tests: `fn`'s value, or the module's own error (any other exception fails). */
export function totalOf<E extends Error>(errorClass: new (...args: never[]) => E): <T>(fn: () => T) => T | E {
  return (fn) => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof errorClass) return e;
      throw e;
    }
  };
}
