/**
 * lws-test-server-extpoll's protocols[0]: keeps the poll table from
 * ADD_POLL_FD / CHANGE_MODE_POLL_FD / DEL_POLL_FD and prints each change
 * with the table as it now is.
 */
import { Poll, Reason, type PollArgs, type ProtocolCallback } from '../../index.js';

function interest(events: number): string {
  const parts: string[] = [];
  if (events & Poll.IN) parts.push('IN');
  if (events & Poll.OUT) parts.push('OUT');
  return parts.length ? parts.join('|') : '-';
}

/** `inner` with the poll reasons taken over: each change is kept and reported through `print`. */
export function pollTablePrinter(inner: ProtocolCallback, print: (line: string) => void): ProtocolCallback {
  const table = new Map<number, number>();
  let locked = false;
  const show = (what: string, a: PollArgs) => {
    const rows = [...table].sort((x, y) => x[0] - y[0]).map(([fd, ev]) => `${fd}:${interest(ev)}`);
    print(`poll ${what} fd ${a.fd} ${interest(a.prevEvents)} -> ${interest(what === 'del' ? 0 : a.events)}; table [${rows.join(' ')}]`);
  };
  return (...args) => {
    const [, reason, , input] = args;
    switch (reason) {
      case Reason.LOCK_POLL:
        // Changes come one at a time between LOCK and UNLOCK; a second LOCK would be a nesting bug.
        if (locked) print('poll: LOCK_POLL while locked');
        locked = true;
        return 0;
      case Reason.UNLOCK_POLL:
        locked = false;
        return 0;
      case Reason.ADD_POLL_FD:
        table.set(input.fd, input.events);
        show('add', input);
        return 0;
      case Reason.CHANGE_MODE_POLL_FD:
        table.set(input.fd, input.events);
        show('change', input);
        return 0;
      case Reason.DEL_POLL_FD:
        table.delete(input.fd);
        show('del', input);
        return 0;
      default:
        return inner(...args);
    }
  };
}
