// Answers for routes whose module is not mounted (a build without the inbox binding): what is
// true of a server without inbox threads.
import { Problem } from '../errors.js';
import type { RouteRegistrar } from './registrar.js';

export function fallbackRoutes(r: RouteRegistrar): void {
  r.handle('listInbox', async () => ({ ok: true, threads: [] }));
  const noThread = async (): Promise<never> => { throw new Problem('thread_not_found'); };
  for (const id of ['getInboxThread', 'approveInboxThread', 'rejectInboxThread', 'replyInboxThread']) r.handle(id, noThread);
}
