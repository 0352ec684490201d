/**
 * `kensus completion bash|zsh`: a completion script made from the commander tree itself, so every
 * command and flag is offered and none goes stale. zsh runs the bash script through bashcompinit.
 */
import type { Command } from 'commander';

interface Node {
  path: string;
  words: string[];
}

function walk(cmd: Command, path: string[], out: Node[]): void {
  const flags = cmd.options.flatMap((o) => [o.short, o.long].filter((f): f is string => Boolean(f)));
  const subs = cmd.commands.map((c) => c.name());
  out.push({ path: path.join(' '), words: [...subs, ...flags, '--help'] });
  for (const c of cmd.commands) walk(c, [...path, c.name()], out);
}

function bashScript(program: Command): string {
  const nodes: Node[] = [];
  walk(program, [], nodes);
  const cases = nodes.map((n) => `    "${n.path}") words="${n.words.join(' ')}" ;;`).join('\n');
  const names = new Set(nodes.flatMap((n) => n.path.split(' ')).filter(Boolean));
  return `# kensus completion for bash (kensus completion bash)
_kensus() {
  local cur cmdpath="" w words i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      ${[...names].join('|')}) cmdpath="\${cmdpath:+$cmdpath }$w" ;;
    esac
  done
  case "$cmdpath" in
${cases}
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _kensus kensus
`;
}

export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  const bash = bashScript(program);
  if (shell === 'bash') return bash;
  return `#compdef kensus
# kensus completion for zsh (kensus completion zsh): the bash completion through bashcompinit
autoload -U +X bashcompinit && bashcompinit
${bash}`;
}
