// `vtaps` and `filter` take the same deployment options from one helper: the same flags, defaults
// and help lines on every subcommand, each with its own way to name a target instead.
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../agent/cli.js';
import { sdkApiOptions } from '../../agent/commands/deployment-options.js';

const SHARED = ['--compartment', '--deployment', '--region', '--config-file', '--profile', '--endpoint'];

async function subcommands(name: string): Promise<readonly Command[]> {
  const parent = (await buildProgram()).commands.find((c) => c.name() === name)!;
  return parent.commands;
}

const described = (command: Command) =>
  command.options.filter((o) => SHARED.includes(o.long!)).map((o) => ({ flags: o.flags, description: o.description, default: o.defaultValue, hidden: o.hidden }));

describe('deployment options of vtaps and filter', () => {
  it('are the same on every subcommand of both, --endpoint hidden', async () => {
    const all = [...(await subcommands('vtaps')), ...(await subcommands('filter'))];
    expect(all.map((c) => c.name())).toEqual(['status', 'start', 'stop', 'show', 'add', 'remove', 'reset']);
    const first = described(all[0]!);
    expect(first.map((o) => o.flags.split(' ')[0])).toEqual(SHARED);
    expect(first.find((o) => o.flags.startsWith('--deployment'))!.default).toBe('vtap-archiver');
    expect(first.find((o) => o.flags.startsWith('--endpoint'))!.hidden).toBe(true);
    for (const command of all) expect(described(command)).toEqual(first);
  });

  it('put each command\'s target right after --deployment in the help', async () => {
    const order = (command: Command) => command.options.map((o) => o.long);
    expect(order((await subcommands('vtaps'))[0]!).slice(0, 4)).toEqual(['--compartment', '--deployment', '--vtap', '--region']);
    expect(order((await subcommands('filter'))[0]!).slice(0, 4)).toEqual(['--compartment', '--deployment', '--filter-id', '--region']);
  });

  it('pass only the flags given to the SDK', () => {
    expect(sdkApiOptions({ deployment: 'd' })).toEqual({});
    expect(sdkApiOptions({ deployment: 'd', region: 'eu-frankfurt-1', profile: 'LAB', configFile: '/c', endpoint: 'http://127.0.0.1:1' }))
      .toEqual({ region: 'eu-frankfurt-1', profile: 'LAB', configFile: '/c', endpoint: 'http://127.0.0.1:1' });
  });
});
