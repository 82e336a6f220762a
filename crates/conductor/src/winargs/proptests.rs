//! Property tests: built command lines split back into the original list.

use proptest::prelude::*;

use super::*;

/// Characters that are special to some Windows parser, plus non-ASCII.
const TRICKY: &[char] = &[
    '\\', '"', ' ', '\t', '%', '^', '&', '|', '<', '>', '(', ')', '!', ',', ';', '=', '~', ':',
    '*', '?', 'a', 'Z', '0', '.', '-', 'é', '✓', '😀', '\u{85}', '\u{3000}',
];

fn tricky_string(chars: &'static [char], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(chars), 0..max).prop_map(String::from_iter)
}

fn arg_list() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(tricky_string(TRICKY, 12), 0..8)
}

fn program() -> impl Strategy<Value = String> {
    let no_quote: &'static [char] = &['\\', ' ', '\t', '%', '&', '(', 'a', 'é', '😀', ':', '.'];
    tricky_string(no_quote, 12)
}

/// Model of cmd.exe's percent expansion on a command line (not in a batch
/// file): `%%` leaves one `%` and scanning resumes at the second; our
/// `%cd:~,%` is an empty substring; any other `%NAME%` is a variable reference
/// that could expand, and is reported as an error.
fn cmd_percent_expand(line: &str) -> Result<String, String> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '%' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let Some(len) = chars[i + 1..].iter().position(|&c| c == '%') else {
            out.extend(&chars[i..]);
            break;
        };
        let name: String = chars[i + 1..i + 1 + len].iter().collect();
        if name.is_empty() {
            out.push('%');
            i += 1;
        } else if name == "cd:~," {
            i += len + 2;
        } else {
            return Err(format!("variable reference %{name}% in {line:?}"));
        }
    }
    Ok(out)
}

/// Checks cmd.exe's view of a line after percent expansion: every special
/// character and every separator must sit inside quotes (cmd toggles on every
/// `"`), except the separators between arguments. Returns the batch
/// arguments as cmd splits them for `%0`, `%1`, … (quotes kept).
fn cmd_tokens(line: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in line.chars() {
        if c == '"' {
            quoted = !quoted;
            cur.push(c);
            started = true;
        } else if !quoted && matches!(c, ' ' | '\t' | ',' | ';' | '=') {
            if started {
                tokens.push(std::mem::take(&mut cur));
                started = false;
            }
        } else if !quoted && matches!(c, '&' | '|' | '<' | '>' | '(' | ')' | '^' | '!' | '%') {
            return Err(format!("unquoted {c:?} in {line:?}"));
        } else {
            cur.push(c);
            started = true;
        }
    }
    if quoted {
        return Err(format!("unbalanced quotes in {line:?}"));
    }
    if started {
        tokens.push(cur);
    }
    Ok(tokens)
}

fn expected(program: &str, args: &[String]) -> Vec<String> {
    std::iter::once(program.to_string())
        .chain(args.iter().cloned())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn both_parsers_give_back_the_list(prog in program(), args in arg_list()) {
        let line = String::from_utf16(&build_command_line(&prog, &args).unwrap()).unwrap();
        let want = expected(&prog, &args);
        prop_assert_eq!(parse_msvcrt(&line), want.clone(), "line {:?}", line);
        prop_assert_eq!(parse_command_line_to_argv_w(&line), want, "line {:?}", line);
    }

    #[test]
    fn wide_and_os_str_builders_agree(prog in program(), args in arg_list()) {
        let wide_args: Vec<Vec<u16>> = args.iter().map(|a| a.encode_utf16().collect()).collect();
        let prog_wide: Vec<u16> = prog.encode_utf16().collect();
        prop_assert_eq!(
            build_command_line_wide(&prog_wide, &wide_args).unwrap(),
            build_command_line(&prog, &args).unwrap()
        );
        for (arg, wide) in args.iter().zip(&wide_args) {
            prop_assert_eq!(quote_arg(arg).unwrap(), quote_arg_wide(wide).unwrap());
        }
    }

    #[test]
    fn batch_line_is_inert_and_round_trips(args in arg_list()) {
        let script = r"C:\dir with space\a&b %x% (1)\run.bat";
        let line = String::from_utf16(&build_batch_command_line(script, &args).unwrap()).unwrap();
        let prefix = format!("cmd.exe {BATCH_CMD_SWITCHES} \"");
        let body = line.strip_prefix(&prefix).and_then(|b| b.strip_suffix('"'));
        prop_assert!(body.is_some(), "shape of {:?}", line);
        // What cmd.exe runs after `/c` strips the outer quotes and expands `%`.
        let expanded = cmd_percent_expand(body.unwrap());
        prop_assert!(expanded.is_ok(), "{:?}", expanded);
        let expanded = expanded.unwrap();
        let tokens = cmd_tokens(&expanded);
        prop_assert!(tokens.is_ok(), "{:?}", tokens);
        let tokens = tokens.unwrap();
        prop_assert_eq!(&tokens[0], &format!("\"{script}\""));
        prop_assert_eq!(tokens.len(), args.len() + 1, "tokens {:?}", tokens);
        for (token, arg) in tokens[1..].iter().zip(&args) {
            // `"%~n"` handed to a C-runtime program gives the argument back.
            prop_assert_eq!(parse_msvcrt(&format!("x {token}")), vec!["x".to_string(), arg.clone()]);
            // `%~n` is the argument itself unless it holds `"` or ends with `\`.
            if !arg.contains('"') && !arg.ends_with('\\') {
                let tilde = token.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(token);
                prop_assert_eq!(tilde, arg.as_str());
            }
        }
        // `%*` forwarded to a C-runtime program gives the whole list back.
        let tail = &expanded[script.len() + 2..];
        prop_assert_eq!(parse_msvcrt(&format!("x{tail}")), expected("x", &args));
    }

    #[test]
    fn batch_refuses_line_breaks(mut args in arg_list(), pos in 0usize..8, brk in prop::sample::select(vec!["\r", "\n", "\r\n"])) {
        let pos = pos % (args.len() + 1);
        args.insert(pos, format!("a{brk}b"));
        let err = build_batch_command_line("s.bat", &args).unwrap_err();
        prop_assert_eq!(err.item(), Item::Arg(pos));
    }
}

#[test]
fn percent_model_catches_a_naive_line() {
    assert!(cmd_percent_expand(r#""s.bat" "%PATH%""#).is_err());
    assert!(cmd_tokens(r#""s.bat" "\"&calc""#).is_err());
}
