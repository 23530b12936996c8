// A self-contained HTML report (one file, no external assets): a table of every case, failures
// first, filterable by every outcome, group and text, with each case's failure evidence and
// transcript folded under it. A passing case's transcript is summarised unless --transcripts all.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CaseResult, RunResult } from '../results.js';
import { formatEntry } from '../transcript.js';
import { curlForResult, requirementLines, show } from './evidence.js';
import {
  describeSummary, forReport, OUTCOME_LABEL, REPORT_FILES, SHOWN_OUTCOMES, shownOutcome, type Reporter, type TranscriptPolicy,
} from './reporter.js';
import { causes, verdictLine } from './verdict.js';

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function caseDetail(r: CaseResult): string {
  const parts: string[] = [];
  const reqs = requirementLines(r)
    .map((q) => `<li><b>${esc(q.id)}</b> ${esc(q.level ?? '')} ${esc(q.text)}${q.link ? ` <span class="dim">${esc(q.link)}</span>` : ''}</li>`)
    .join('');
  parts.push(`<ul class="reqs">${reqs}</ul>`);
  if (r.reason) parts.push(`<p class="reason">${esc(r.reason)}</p>`);
  if (r.blockedBy && r.blockedBy.length > 0) parts.push(`<p class="reason">blocked by ${esc(r.blockedBy.join(', '))}</p>`);
  if (r.failure) {
    parts.push(`<p class="message">${esc(r.failure.message)}</p>`);
    if (r.failure.expected !== undefined || r.failure.actual !== undefined) {
      parts.push(`<div class="cmp"><div><h4>expected</h4><pre>${esc(show(r.failure.expected))}</pre></div><div><h4>actual</h4><pre>${esc(show(r.failure.actual))}</pre></div></div>`);
    }
    if (r.failure.stack) parts.push(`<pre class="stack">${esc(r.failure.stack)}</pre>`);
  }
  const curl = r.outcome === 'passed' ? undefined : curlForResult(r);
  if (curl) parts.push(`<h4>reproduce</h4><pre class="curl">${esc(curl)}</pre>`);
  if (r.notes.length > 0) parts.push(`<ul class="notes">${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`);
  if (r.transcript.length > 0) {
    const what = r.transcriptSummary ? `transcript summarised: ${describeSummary(r.transcriptSummary)}` : `transcript (${r.transcript.length} entries)`;
    parts.push(`<details class="transcript"><summary>${esc(what)}</summary><pre>${esc(r.transcript.map(formatEntry).join('\n'))}</pre></details>`);
  }
  return parts.join('');
}

function row(r: CaseResult): string {
  const outcome = shownOutcome(r);
  const text = `${r.id} ${r.title} ${r.group} ${r.requirements.join(' ')} ${r.failure?.message ?? ''} ${r.reason ?? ''}`.toLowerCase();
  return `<tr class="case-row" data-id="${esc(r.id)}" data-outcome="${esc(outcome)}" data-group="${esc(r.group)}" data-text="${esc(text)}">
<td class="id">${esc(r.id)}</td><td>${esc(r.group)}</td><td>${esc(r.level)}</td><td><span class="badge ${esc(outcome)}">${esc(OUTCOME_LABEL[outcome])}</span></td>
<td><details class="case"><summary>${esc(r.title)}</summary>${caseDetail(r)}</details></td><td>${esc(r.requirements.join(', '))}</td><td class="num">${r.durationMs}</td></tr>`;
}

function options(values: Array<[value: string, label: string]>): string {
  return values.map(([v, label]) => `<option value="${esc(v)}">${esc(label)}</option>`).join('');
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}h1{font-size:1.3rem}
.summary span{margin-right:1rem}.dim{color:#777}table{border-collapse:collapse;width:100%;margin-top:1rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f4f4f4}
td.num{text-align:right}td.id{font-family:monospace;white-space:nowrap}.badge{padding:0 .4rem;border-radius:.3rem;font-size:.85em}
.passed{background:#d8f5d8}.failed,.errored,.stale{background:#fbd3d3}.warning,.known_failure,.blocked{background:#fcefc7}
.not_applicable,.skipped{background:#eee}pre{background:#f8f8f8;padding:.5rem;overflow:auto;max-height:30rem;white-space:pre-wrap}
.cmp{display:flex;gap:1rem}.cmp>div{flex:1}.message{color:#a00;font-weight:600}.filters label{margin-right:1rem}
.causes{color:#a60;font-weight:600}.verdict{font-weight:700}.v0{color:#070}.v1,.v2{color:#a00}.v3{color:#a60}tr.hidden{display:none}`;

const SCRIPT = `(function(){var o=document.getElementById('filter-outcome'),g=document.getElementById('filter-group'),
t=document.getElementById('filter-text'),c=document.getElementById('visible-count');
function apply(){var q=t.value.trim().toLowerCase(),n=0;document.querySelectorAll('tr.case-row').forEach(function(r){
var show=(!o.value||r.dataset.outcome===o.value)&&(!g.value||r.dataset.group===g.value)&&(!q||r.dataset.text.indexOf(q)>=0);
r.classList.toggle('hidden',!show);if(show)n++;});c.textContent=String(n);}
o.addEventListener('change',apply);g.addEventListener('change',apply);t.addEventListener('input',apply);apply();})();`;

export function buildHtml(input: RunResult, transcripts: TranscriptPolicy = 'failing'): string {
  const run = forReport(input, transcripts);
  const s = run.summary;
  const count = (o: string) => run.cases.filter((r) => shownOutcome(r) === o).length;
  // Every outcome is offered, present or not, so a filter means the same in every report.
  const outcomes = SHOWN_OUTCOMES.map((o): [string, string] => [o, `${OUTCOME_LABEL[o]} (${count(o)})`]);
  const groups = [...new Set(input.cases.map((r) => r.group))].map((g): [string, string] => [g, g]);
  const messages = [...run.harnessErrors.map((e) => `harness error: ${e}`), ...run.warnings.map((w) => `warning: ${w}`)];
  const why = causes(run);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>AXP conformance: ${esc(run.target)}</title><style>${STYLE}</style></head><body>
<h1>AXP conformance report</h1>
<p>${esc(run.target)}${run.embedded ? ' (embedded reference server)' : ''} · run ${esc(run.runId)} · seed ${run.seed} · ${esc(run.startedAt)} · ${esc(run.kit.name)} ${esc(run.kit.version)}</p>
${why.length > 0 ? `<p class="causes" id="causes">${why.map(esc).join('<br>')}</p>` : ''}
<p class="verdict v${run.exitCode}" id="verdict">${esc(verdictLine(run))}</p>
<p class="summary"><span>passed ${s.passed}</span><span>failed ${s.failed}</span><span>errored ${s.errored}</span><span>blocked ${s.blocked}</span><span>not applicable ${s.notApplicable}</span><span>skipped ${s.skipped}</span><span>warnings ${s.warnings}</span><span>known failures ${s.knownFailures}</span><span>stale ${s.staleBaseline}</span></p>
${messages.length > 0 ? `<ul class="messages">${messages.map((m) => `<li>${esc(m)}</li>`).join('')}</ul>` : ''}
<div class="filters">
<label>outcome <select id="filter-outcome"><option value="">all</option>${options(outcomes)}</select></label>
<label>group <select id="filter-group"><option value="">all</option>${options(groups)}</select></label>
<label>text <input id="filter-text" type="search" placeholder="ID, title, requirement, message"></label>
<span><span id="visible-count">${run.cases.length}</span> of ${run.cases.length} cases shown</span>
</div>
<table id="cases"><thead><tr><th>case</th><th>group</th><th>level</th><th>outcome</th><th>title</th><th>requirements</th><th>ms</th></tr></thead>
<tbody>
${run.cases.map(row).join('\n')}
</tbody></table>
<script>${SCRIPT}</script>
</body></html>
`;
}

export class HtmlReporter implements Reporter {
  readonly name = 'html';
  readonly written: string[] = [];
  constructor(
    private readonly outDir: string,
    private readonly transcripts: TranscriptPolicy = 'failing',
  ) {}

  async onFinish(run: RunResult): Promise<void> {
    const file = join(this.outDir, REPORT_FILES.html);
    await mkdir(this.outDir, { recursive: true });
    await writeFile(file, buildHtml(run, this.transcripts));
    this.written.push(file);
  }
}
