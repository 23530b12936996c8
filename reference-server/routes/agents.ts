// AGT-001..AGT-012: register or update an agent (admin), read it (itself or admin).
import { Problem } from '../errors.js';
import { generateApiKey, generateSigningSecret, hashKey, type Authenticator } from '../auth.js';
import { effectivePolicy } from '../delivery/engine.js';
import { isoAt } from '../clock.js';
import { addressFromParams, assertSelfOrAdmin } from './common.js';
import type { AgentRecord, Json } from '../model.js';
import type { RouteRegistrar } from './registrar.js';
import type { ServerContext } from '../context.js';
import { SECRET_OVERLAP_MS } from '../limits.js';

export function toWireAgent(agent: AgentRecord): Json {
  const wire: Json = { address: agent.address, delivery: agent.delivery, created_at: agent.created_at, updated_at: agent.updated_at };
  if (agent.display_name !== undefined) wire.display_name = agent.display_name;
  if (agent.metadata !== undefined) wire.metadata = agent.metadata;
  return wire;
}

export function agentRoutes(auth: Authenticator) {
  return (r: RouteRegistrar, ctx: ServerContext): void => {
    r.handle('putAgent', async (req) => {
      const address = addressFromParams(req);
      const body = req.body;
      // TERM-006: the system/ namespace belongs to the server (agent://system/admin).
      if (address.startsWith('agent://system/')) {
        throw new Problem('validation_failed', 'addresses under agent://system/ are reserved', [{ pointer: '/address', message: 'the first segment system is reserved', keyword: 'reserved', location: 'params' }]);
      }
      // AGT-006: an update replaces the delivery policy as a whole (omitted fields take their defaults).
      const policy = effectivePolicy(body.delivery);
      if (!ctx.engine.adapterFor(policy.binding)) {
        throw new Problem('validation_failed', `binding ${policy.binding} is not supported by this server`, [{ pointer: '/delivery/binding', message: 'binding not supported', keyword: 'enum', location: 'body' }]);
      }
      // AGT-022: the cap cannot be below the first delay.
      if (policy.max_delay_ms < policy.initial_delay_ms) {
        throw new Problem('validation_failed', 'max_delay_ms must not be smaller than initial_delay_ms', [{ pointer: '/delivery/max_delay_ms', message: `must be >= initial_delay_ms (${policy.initial_delay_ms})`, keyword: 'minimum', location: 'body' }]);
      }
      // AGT-008: only http agents have a signing secret to rotate.
      if (body.rotate_secret === true && policy.binding !== 'http') {
        throw new Problem('validation_failed', 'rotate_secret applies to http agents only', [{ pointer: '/rotate_secret', message: 'the agent\'s binding is not http', keyword: 'binding', location: 'body' }]);
      }
      if (policy.lease_seconds < ctx.settings.minLeaseSeconds) {
        throw new Problem('limit_exceeded', `lease_seconds must be at least ${ctx.settings.minLeaseSeconds}`);
      }
      await ctx.engine.checkPolicy(policy, address);

      let apiKey: string | undefined;
      let secret: string | undefined;
      let oldKeyHash: string | undefined;
      const result = await ctx.store.write(async (tx) => {
        const existing = await tx.getAgent(address);
        const now = ctx.clock.now();
        const at = isoAt(now);
        if (!existing || body.rotate_key) apiKey = generateApiKey();
        if (existing && body.rotate_key) oldKeyHash = existing.key_hash;
        let secrets = (existing?.secrets ?? []).filter((s) => !s.expires_at || Date.parse(s.expires_at) > now);
        if (policy.binding === 'http' && (secrets.length === 0 || body.rotate_secret)) {
          secret = generateSigningSecret();
          secrets = [{ secret, created_at: at }, ...secrets.map((s) => ({ ...s, expires_at: s.expires_at ?? isoAt(now + (ctx.settings.secretOverlapMs ?? SECRET_OVERLAP_MS)) }))];
        }
        const agent: AgentRecord = {
          address,
          delivery: policy,
          created_at: existing?.created_at ?? at,
          updated_at: at,
          key_hash: apiKey ? hashKey(apiKey) : (existing as AgentRecord).key_hash,
          secrets,
          last_delivery_seq: existing?.last_delivery_seq ?? 0,
        };
        const displayName = body.display_name ?? existing?.display_name;
        const metadata = body.metadata ?? existing?.metadata;
        if (displayName !== undefined) agent.display_name = displayName;
        if (metadata !== undefined) agent.metadata = metadata;
        await tx.putAgent(agent);
        // AGT-030: intents that waited for this address (or for the old binding) go out now.
        tx.onCommit(() => void ctx.engine.wake(address));
        return { agent, created: !existing };
      });
      if (oldKeyHash) auth.forget(oldKeyHash);
      const answer: Json = { ok: true, agent: toWireAgent(result.agent), created: result.created };
      if (apiKey) answer.api_key = apiKey;
      if (secret) answer.secret = secret;
      return answer;
    });

    r.handle('getAgent', async (req, _reply, caller) => {
      const address = addressFromParams(req);
      assertSelfOrAdmin(caller, address);
      const agent = await ctx.store.read((tx) => tx.getAgent(address));
      if (!agent) throw new Problem('agent_not_found', `no agent ${address}`);
      return { ok: true, agent: toWireAgent(agent) };
    });
  };
}
