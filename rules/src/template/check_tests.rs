//! Which templates `promtool check rules` (Prometheus 2.42) accepts and
//! which it refuses; each verdict below is promtool's.
#![allow(clippy::unwrap_used)]

use super::check as check_named;

fn check(template: &str) -> Result<(), String> {
    check_named(template, "C")
}

#[test]
fn check_verdicts_match_promtool() {
    let cases: &[(&str, bool)] = &[
        (r#"a {{ $value"#, false),                                               // unclosed_action
        (r#"{{ $value }"#, false),                                               // unclosed_action2
        (r#"{{ | toUpper }}"#, false),                                           // bad_pipe1
        (r#"{{ $value | }}"#, true),                                             // bad_pipe2
        (r#"{{ 1 | 2 }}"#, false),                                               // bad_pipe3
        (r#"{{ "a" | . }}"#, false),                                             // bad_pipe4
        (r#"{{ $labels | $value }}"#, true),                                     // bad_pipe5
        (r#"{{ $x }}"#, false),                                                  // undef_var
        (r#"{{ $x = 1 }}"#, true),                                               // undef_assign
        (r#"{{ foo 1 }}"#, false),                                               // unknown_fn
        (r#"{{ tmpl "x" . }}"#, false),                                          // tmpl_fn
        (r#"a{{ end }}"#, false),                                                // end_noblock
        (r#"{{ else }}"#, false),                                                // else_top
        (r#"{{ if 1 }}a{{ else }}b{{ else }}c{{ end }}"#, false),                // else_twice
        (r#"{{ with 1 }}a{{ else with 2 }}b{{ end }}"#, false),                  // else_with
        (r#"{{ with 1 }}a{{ else if 2 }}b{{ end }}"#, false),                    // else_if_with
        (r#"{{ range $labels }}a{{ else if 2 }}b{{ end }}"#, false),             // else_if_range
        (r#"{{ break }}"#, false),                                               // break_outside
        (r#"{{ if 1 }}{{ continue }}{{ end }}"#, false),                         // continue_outside
        (r#"{{ range $labels }}{{ else }}{{ break }}{{ end }}"#, false),         // break_in_range_else
        (r#"{{ range $labels }}{{ break 1 }}{{ end }}"#, false),                 // break_arg
        (r#"{{ range $labels }}{{ if 1 }}{{ break }}{{ end }}{{ end }}"#, true), // break_ok
        (r#"{{ print 1e }}"#, false),                                            // num_1e
        (r#"{{ print 0x }}"#, false),                                            // num_0x
        (r#"{{ print 1e400 }}"#, false),                                         // num_1e400
        (r#"{{ print 08 }}"#, false),                                            // num_08
        (r#"{{ print 99999999999999999999 }}"#, false),                          // num_big
        (r#"{{ print 18446744073709551615 }}"#, true),                           // num_uint
        (r#"{{ print 0x1p4 }}"#, true),                                          // num_hexfloat
        (r#"{{ print 1i }}"#, true),                                             // num_imag
        (r#"{{ print 1.2.3 }}"#, false),                                         // num_dots
        (r#"{{ print +-1 }}"#, false),                                           // num_sign
        (r#"{{ print 1__0 }}"#, false),                                          // num_underscore_bad
        (r#"{{ print 10_ }}"#, false),                                           // num_trail_underscore
        (r#"{{ print 0_1 }}"#, true),                                            // num_0_1
        (r#"{{ print 'a' '\n' '\'' }}"#, true),                                  // char_ok
        (r#"{{ print 'ab' }}"#, false),                                          // char_multi
        (r#"{{ print '' }}"#, false),                                            // char_empty
        (r#"{{ print '\"' }}"#, false),                                          // char_dq_escape
        (r#"{{ print 'a }}"#, false),                                            // char_unterminated
        (r#"{{ print "\'" }}"#, false),                                          // str_sq_escape
        (r#"{{ print "\101" }}"#, true),                                         // str_octal
        (r#"{{ print "\q" }}"#, false),                                          // str_bad_escape
        (r#"{{ print "abc }}"#, false),                                          // str_unterminated
        (r#"{{ print "\u12" }}"#, false),                                        // str_u_short
        (r#"{{ print "\ud800" }}"#, false),                                      // str_surrogate
        (r#"{{ print `a\nb"c` }}"#, true),                                       // raw_ok
        (r#"{{ print `abc }}"#, false),                                          // raw_unterminated
        (
            r#"{{ print `a
b` }}"#,
            true,
        ),           // raw_multiline
        (
            r#"{{ print "a
b" }}"#,
            false,
        ),          // dq_newline
        (r#"{{ print (print (print (len "abc"))) }}"#, true),                    // paren_nested
        (r#"{{ print (print 1 }}"#, false),                                      // paren_unclosed
        (r#"{{ print (print 1)) }}"#, false),                                    // paren_extra
        (r#"{{ print () }}"#, false),                                            // paren_empty
        (r#"{{ (args 1).arg0 }}"#, true),                                        // paren_field
        (r#"{{ (args 1) .Value }}"#, true),                                      // paren_field_space
        (r#"a{{ }}b"#, false),                                                   // empty_action
        (r#"a{{- -}}b"#, false),                                                 // empty_action_trim
        (r#"a{{ /* c */ }}b"#, false),                                           // comment_space
        (r#"a{{- /* c */  -}}b"#, false),                                        // comment_trim2
        (r#"a{{/* c }}b"#, false),                                               // comment_unclosed
        (r#"a{{/* c */ 1 }}b"#, false),                                          // comment_text_after
        (r#"{{ if 1 }}{{ define "a" }}x{{ end }}{{ end }}"#, false),             // define_nested
        (r#"{{ define "a" }}1{{ end }}{{ define "a" }}2{{ end }}"#, false),      // define_twice
        (r#"{{ define "a" }}{{ end }}{{ define "a" }}2{{ end }}"#, true),        // define_twice_empty
        (r#"{{ define a }}x{{ end }}"#, false),                                  // define_noname
        (r#"{{ define "a" }}x"#, false),                                         // define_unclosed
        (r#"{{ define "a" }}{{ $labels }}{{ end }}"#, false),                    // define_labels
        (r#"{{ $x := "a" }}{{ template $x }}"#, false),                          // template_var_name
        (r#"{{ template "zz" }}"#, true),                                        // template_undefined
        (r#"{{ block "b" . }}x{{ end }}"#, true),                                // block_ok
        (r#"{{ if }}x{{ end }}"#, false),                                        // if_noarg
        (r#"{{ if 1 }}x"#, false),                                               // if_unclosed
        (r#"{{ if $a, $b := 1 }}{{ end }}"#, false),                             // range_two_decl_if
        (r#"{{ with $a, $b := 1 }}{{ end }}"#, false),                           // with_two_decl
        (r#"{{ range $a, $b, $c := $labels }}{{ end }}"#, false),                // range_three_decl
        (r#"{{ $x.y := 1 }}"#, false),                                           // decl_field
        (r#"{{ x := 1 }}"#, false),                                              // decl_nonvar
        (r#"{{ $i := 0 }}{{ range $i = $labels }}{{ end }}"#, true),             // assign_range
        (r#"{{ $i := 0 }}{{ $e := 0 }}{{ range $i, $e = $labels }}{{ end }}"#, true), // assign_range2
        (r#"{{ nil }}"#, true),                                                  // nil_cmd
        (r#"{{ print nil }}"#, true),                                            // nil_arg
        (r#"{{ $.Labels.host }}"#, true),                                        // dot_after_var
        (r#"{{ "a".x }}"#, false),                                               // field_on_literal
        (r#"{{ 1.x }}"#, false),                                                 // field_on_number
        (r#"{{ print # }}"#, false),                                             // bad_char
        (r#"{{ print ; }}"#, false),                                             // bad_char2
        (r#"{{ $x : = 1 }}"#, false),                                            // colon
        (r#"{{ print if }}"#, false),                                            // keyword_as_arg
        (r#"{{ true 1 }}"#, true),                                               // true_fn
        (r#"{{ $é := 1 }}{{ $é }}"#, true),                                      // unicode_ident
        (r#"{{-1}}"#, true),                                                     // trim_no_space
        (r#"{{1-}}"#, false),                                                    // trim_right_no_space
        (r#"{{ $x := 1 }}{{ define "t" }}{{ $x = 2 }}{{ end }}"#, true),         // assign_undeclared_in_define
        (r#"{{ if 1 }}{{ $y := 1 }}{{ end }}{{ $y }}"#, false),                  // var_scope_after_if
        (r#"{{ with $z := 1 }}{{ else }}{{ $z }}{{ end }}"#, true),              // with_else_var
        (r#"{{ ($labels).host }}"#, true),                                       // chain_on_var_paren
        (r#"{{ $ }}"#, true),                                                    // dollar_only
        (r#"{{ $.Value }}"#, true),                                              // dollar_field
        (r#"{{ .. }}"#, false),                                                  // lone_dot_dot
        (r#"{{ if 1 }}{{ end 1 }}"#, false),                                     // end_with_arg
        (r#"{{ if 1 }}{{ else 1 }}{{ end }}"#, false),                           // else_arg
        (r#"{{ print(1) }}"#, false),
        (r#"{{ print "a""b" }}"#, false),
        (r#"{{ print.x }}"#, true),
        (r#"{{ nil.x }}"#, false),
        (r#"{{ $value|toUpper}}"#, true),
        (r#"{{ $value | | toUpper }}"#, false),
        (r#"{{ 1 | nil }}"#, false),
        (r#"{{ define "a" }}{{ define "b" }}{{ end }}{{ end }}"#, false),
        (r#"{{ block "a" . }}x{{ end }}{{ define "a" }}y{{ end }}"#, false),
        (r#"{{ define "a" }} {{ end }}{{ define "a" }}2{{ end }}{{ define "a" }}  {{ end }}"#, true),
        (r#"x{{ /* c */}}"#, false),
        ("{{/* c */ -}}  x", true),
        ("{{/* c */\n-}}  x", true),
        (r#"{{ $x := 1 }}{{ $x := 2 }}"#, true),
        (r#"{{ print 0_1 0x_1F 0b101 0o17 1_000.5 .5 -.5 1. +5 0x1P-2 1E3 0X1F }}"#, true),
        (r#"{{ print -9223372036854775808 9223372036854775808 }}"#, true),
        (r#"{{ block "b" }}x{{ end }}"#, false),
        (r#"{{ $x := 1 }}{{ $x=2 }}"#, false),
        (r#"{{ $x := 1 }}{{ $x =2 }}"#, true),
        (r#"{{ $x:=2 }}"#, true),
        (r#"{{ define "__alert_C" }}x{{ end }}"#, false),
        (r#"{{ define "__alert_C" }} {{ end }}"#, true),
        (r#"{{ print .é }}"#, true),
        (r#"{{ $x := $x }}"#, true),
        (r#"{{ range $i, $e := $i }}{{ end }}"#, true),
        (r#"{{ $ := 1 }}"#, true),
        (r#"{{ $x := }}"#, false),
        (r#"{{ template "t" 1 2 }}"#, true),
        (r#"{{ if 1 }}{{ else if }}{{ end }}"#, false),
        (r#"{{ print 0x1.p1 }}"#, true),
        (r#"{{ print 0x.8p1 }}"#, true),
        (r#"{{ print 1_0.0_1 }}"#, true),
        (r#"{{ print 0_x1 }}"#, false),
        (r#"{{ print 1e2i }}"#, true),
        (r#"{{ print 0x1i }}"#, false),
        (r#"{{ print "\400" }}"#, false),
        (r#"{{ print "\377" }}"#, true),
        (r#"{{ print "\U00110000" }}"#, false),
        (r#"{{ print $labels. }}"#, false),
        (r#"{{ print | $labels.host }}"#, true),
        (r#"{{ print | (print) }}"#, true),
        (r#"{{ print | true }}"#, false),
        (r#"{{ range $labels }}{{ with 1 }}{{ break }}{{ end }}{{ end }}"#, true),
        (r#"{{ define "x" }}{{ break }}{{ end }}"#, false),
    ];
    let mut wrong = Vec::new();
    for (template, accepted) in cases {
        let got = check(template);
        if got.is_ok() != *accepted {
            wrong.push(format!("{template:?}: promtool {}, we {got:?}", if *accepted { "accepts" } else { "refuses" }));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn refusals_say_what_go_says() {
    let says = |t: &str| check(t).unwrap_err();
    assert!(says(r#"{{ 1 | 2 }}"#).contains("non executable command in pipeline stage 2"));
    assert!(says(r#"{{ "a" | . }}"#).contains("non executable command in pipeline stage 2"));
    assert!(says("a{{ }}b").contains("missing value for command"));
    assert!(says("{{ print 1e400 }}").contains("illegal number syntax"));
    assert!(says("{{ print 08 }}").contains("integer overflow"));
    assert!(says(r#"{{ define "a" }}1{{ end }}{{ define "a" }}2{{ end }}"#).contains("multiple definition of template"));
    assert!(says(r#"{{ if 1 }}{{ define "a" }}x{{ end }}{{ end }}"#).contains("unexpected <define>"));
    assert!(says(r#"{{ "a".x }}"#).contains("unexpected . after term"));
    assert!(says(r#"{{ if 1 }}{{ end 1 }}"#).contains("in end"));
}
