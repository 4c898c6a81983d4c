/**
 * A restricted Python unpickler (protocols 0–5 opcodes that `torch.save` and plain data use).
 * It never executes anything: `GLOBAL`/`STACK_GLOBAL` resolve only names on a caller-given
 * allow-list of JS functions; any other global (`os.system`, `builtins.eval`, `posix.system`...)
 * is refused with a {@linkcode ModelFormatError} naming it. Opcodes that construct arbitrary
 * objects (`INST`, `OBJ`, `NEWOBJ`, `EXT*`, out-of-band buffers) are refused too.
 * @module
 */
import { ModelFormatError } from "../errors.ts";

/** A Python tuple (kept distinct from lists). */
export class PyTuple {
  /** The elements. */
  readonly items: readonly PyValue[];
  /** Wraps `items`. */
  constructor(items: readonly PyValue[]) {
    this.items = items;
  }
}

/** A Python dict (insertion-ordered; keys are primitives or tuples by identity). */
export class PyDict {
  /** Entries. */
  readonly map: Map<PyValue, PyValue> = new Map();
  /** Attributes set by `BUILD` (e.g. `_metadata` of a state dict). */
  readonly attrs: Map<PyValue, PyValue> = new Map();
}

/** An allow-listed global: `module.name` mapped to a JS implementation. */
export class PyGlobal {
  /** Dotted module path. */
  readonly module: string;
  /** Qualified name within the module. */
  readonly name: string;
  /** Called by `REDUCE` with the argument tuple's items (undefined: not callable). */
  readonly call?: (args: readonly PyValue[]) => PyValue;
  /** Creates a global marker. */
  constructor(module: string, name: string, call?: (args: readonly PyValue[]) => PyValue) {
    this.module = module;
    this.name = name;
    this.call = call;
  }
}

/** Any value the restricted unpickler can produce. */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PyDict
  | PyGlobal
  | Set<PyValue>
  | { readonly opaque: unknown };

/** Options for {@linkcode unpickle}. */
export interface UnpickleOptions {
  /** Allowed globals keyed by `"module.name"`. */
  globals: ReadonlyMap<string, PyGlobal>;
  /** Resolves a persistent id (`PERSID`/`BINPERSID`); absent: persistent ids are refused. */
  persistentLoad?: (pid: PyValue) => PyValue;
  /** Name for error messages. */
  source?: string;
  /** Maximum container length / string size accepted (guards against memory bombs). */
  maxLength?: number;
}

const MARK = Symbol("mark");
type StackItem = PyValue | typeof MARK;

/**
 * Unpickles `bytes` with the allow-list in `options`. Returns the top-level value.
 * Malformed or disallowed input throws ModelFormatError; nothing is ever executed.
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): PyValue {
  const source = options.source ?? "pickle";
  const maxLength = options.maxLength ?? 1 << 30;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (msg: string): never => {
    throw new ModelFormatError(`${source}: ${msg}`);
  };
  let pos = 0;
  const stack: StackItem[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const latin1 = new TextDecoder("latin1");

  const need = (n: number): number => {
    if (!Number.isSafeInteger(n) || n < 0 || n > maxLength || pos + n > bytes.length) {
      fail(`truncated or oversized field (${n} bytes at offset ${pos} of ${bytes.length})`);
    }
    const p = pos;
    pos += n;
    return p;
  };
  const u8 = () => bytes[need(1)]!;
  const u16 = () => dv.getUint16(need(2), true);
  const u32 = () => dv.getUint32(need(4), true);
  const i32 = () => dv.getInt32(need(4), true);
  const u64 = () => {
    const v = dv.getBigUint64(need(8), true);
    if (v > BigInt(maxLength)) fail(`length ${v} is too large`);
    return Number(v);
  };
  const take = (n: number) => bytes.subarray(need(n), pos);
  const str = (n: number) => {
    const raw = take(n);
    try {
      return utf8.decode(raw);
    } catch {
      return fail(`invalid UTF-8 string at offset ${pos - n}`);
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail(`unterminated text line at offset ${pos}`);
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): PyValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!)) {
      fail(`stack underflow at offset ${pos - 1}`);
    }
    const v = stack.pop()!;
    if (v === MARK) return fail(`unexpected mark at offset ${pos - 1}`);
    return v;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) return fail(`empty stack at offset ${pos - 1}`);
    return v;
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) return fail(`no mark on the stack at offset ${pos - 1}`);
    const items = stack.splice(m) as PyValue[];
    if (stack[stack.length - 1] !== MARK) fail(`corrupt mark at offset ${pos - 1}`);
    stack.pop();
    return items;
  };
  const global = (module: string, name: string): PyGlobal => {
    const key = `${module}.${name}`;
    const g = options.globals.get(key);
    if (!g) {
      fail(
        `refusing to load global ${JSON.stringify(key)}: it is not on the allow-list of ` +
          `tensor-rebuilding functions (the file may be malicious; only plain state dicts are accepted)`,
      );
    }
    return g!;
  };
  const setItems = (d: PyValue, items: PyValue[]) => {
    if (!(d instanceof PyDict)) fail(`SETITEM(S) on a non-dict at offset ${pos - 1}`);
    if (items.length % 2) fail(`odd number of items for SETITEMS at offset ${pos - 1}`);
    for (let i = 0; i < items.length; i += 2) (d as PyDict).map.set(items[i]!, items[i + 1]!);
  };
  const appendItems = (l: PyValue, items: PyValue[]) => {
    // One at a time: push(...items) overflows the call stack on a long APPENDS.
    if (Array.isArray(l)) { for (const x of items) l.push(x); }
    else if (l instanceof Set) { for (const x of items) l.add(x); }
    else fail(`APPEND(S) on a non-list at offset ${pos - 1}`);
  };
  const intOf = (text: string): PyValue => {
    const t = text.trim().replace(/L$/, "");
    if (t === "00") return false;
    if (t === "01") return true;
    if (!/^[-+]?\d+$/.test(t)) fail(`bad integer literal ${JSON.stringify(text)}`);
    const b = BigInt(t);
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(b)
      : b;
  };
  const longOf = (raw: Uint8Array): PyValue => {
    if (raw.length === 0) return 0;
    let v = 0n;
    for (let i = raw.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i]!);
    if (raw[raw.length - 1]! & 0x80) v -= 1n << BigInt(8 * raw.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(v)
      : v;
  };
  const memoKey = (v: PyValue): number => {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      return fail(`bad memo key ${String(v)}`);
    }
    return v;
  };

  while (true) {
    if (pos >= bytes.length) fail("pickle ended without a STOP opcode (truncated)");
    const op = bytes[pos++]!;
    switch (op) {
      case 0x80: { // PROTO
        const proto = u8();
        if (proto > 5) fail(`unsupported pickle protocol ${proto}`);
        break;
      }
      case 0x95: // FRAME (length hint only)
        u64();
        break;
      case 0x2e: { // STOP
        const v = pop();
        return v;
      }
      case 0x28: // MARK
        marks.push(stack.length);
        stack.push(MARK);
        marks[marks.length - 1] = stack.length;
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x74: // TUPLE
        stack.push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x64: { // DICT
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: // APPENDS (to a list)
      case 0x90: { // ADDITEMS (to a set)
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x91: // FROZENSET
        stack.push(new Set(popMark()));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(longOf(take(u8())));
        break;
      case 0x8b: { // LONG4
        const n = i32();
        if (n < 0) fail(`negative LONG4 length ${n}`);
        stack.push(longOf(take(n)));
        break;
      }
      case 0x49: // INT
        stack.push(intOf(line()));
        break;
      case 0x4c: // LONG
        stack.push(intOf(line()));
        break;
      case 0x47: // BINFLOAT (big-endian)
        stack.push(dv.getFloat64(need(8), false));
        break;
      case 0x46: { // FLOAT
        const t = line();
        const f = Number(t);
        if (Number.isNaN(f) && !/nan/i.test(t)) fail(`bad float literal ${JSON.stringify(t)}`);
        stack.push(f);
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(str(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(str(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(str(u64()));
        break;
      case 0x54: { // BINSTRING (py2 str)
        const n = i32();
        if (n < 0) fail(`negative BINSTRING length ${n}`);
        stack.push(latin1.decode(take(n)));
        break;
      }
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1.decode(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x70: // PUT
        memo.set(memoKey(intOf(line())), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: { // GET
        const k = op === 0x68 ? u8() : op === 0x6a ? u32() : memoKey(intOf(line()));
        if (!memo.has(k)) fail(`memo key ${k} used before it was defined`);
        stack.push(memo.get(k)!);
        break;
      }
      case 0x30: // POP
        if (stack[stack.length - 1] === MARK) popMark();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        stack.push(global(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") {
          fail("STACK_GLOBAL needs two strings");
        }
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PyGlobal) || !fn.call) {
          return fail(`REDUCE on a value that is not an allowed callable at offset ${pos - 1}`);
        }
        if (!(args instanceof PyTuple)) {
          return fail(`REDUCE arguments are not a tuple at offset ${pos - 1}`);
        }
        stack.push(fn.call(args.items));
        break;
      }
      case 0x62: { // BUILD: only attribute dicts on dicts (state_dict._metadata) or no-op states.
        const state = pop();
        const obj = top();
        if (state === null) break;
        if (obj instanceof PyDict && state instanceof PyDict) {
          for (const [k, v] of state.map) obj.attrs.set(k, v);
          break;
        }
        if (state instanceof PyDict && state.map.size === 0) break;
        fail(`BUILD with state on a ${describe(obj)} is not allowed`);
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!options.persistentLoad) fail("persistent ids are not allowed here");
        stack.push(options.persistentLoad!(pid));
        break;
      }
      case 0x50: { // PERSID
        const pid = line();
        if (!options.persistentLoad) fail("persistent ids are not allowed here");
        stack.push(options.persistentLoad!(pid));
        break;
      }
      case 0x69: // INST
      case 0x6f: // OBJ
      case 0x81: // NEWOBJ
      case 0x92: // NEWOBJ_EX
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
      case 0x96: // BYTEARRAY8
      case 0x97: // NEXT_BUFFER
      case 0x98: // READONLY_BUFFER
        fail(
          `refusing opcode 0x${op.toString(16)} at offset ${pos - 1}: it constructs arbitrary ` +
            `objects, which a tensor state dict never needs`,
        );
        break;
      default:
        fail(`unknown or unsupported opcode 0x${op.toString(16)} at offset ${pos - 1}`);
    }
    if (stack.length > maxLength) fail("stack too deep");
  }
}

/** A short description of a value for error messages. */
export function describe(v: PyValue): string {
  if (v === null) return "None";
  if (v instanceof PyTuple) return "tuple";
  if (v instanceof PyDict) return "dict";
  if (v instanceof PyGlobal) return `global ${v.module}.${v.name}`;
  if (v instanceof Uint8Array) return "bytes";
  if (Array.isArray(v)) return "list";
  if (v instanceof Set) return "set";
  if (typeof v === "object") return "object";
  return typeof v;
}
