#include "man/markdown.hpp"

#include <cctype>

#include <fmt/format.h>

namespace lvsd::man {

namespace {

bool blank(std::string_view s) { return s.find_first_not_of(" \t") == std::string_view::npos; }

std::string_view trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

bool is_fence(std::string_view line) { return line.starts_with("```"); }
bool is_bullet(std::string_view line) { return line.starts_with("- "); }

// "12. text": the length of "12. ", else 0.
size_t number_prefix(std::string_view line) {
    size_t i = 0;
    while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
    return i > 0 && line.substr(i).starts_with(". ") ? i + 2 : 0;
}

bool is_table_row(std::string_view line) { return line.starts_with("|"); }
bool is_table_rule(std::string_view line) {
    return is_table_row(line) && line.find_first_not_of("|-: ") == std::string_view::npos;
}

// Roff treats a line that starts with `.` or `'` as a request; `\&` makes it text.
std::string text_line(std::string s) {
    if (!s.empty() && (s[0] == '.' || s[0] == '\'')) s.insert(0, "\\&");
    return s + "\n";
}

// One character of literal text. In code, `-` is a real hyphen-minus (`\-`): groff would
// otherwise print a hyphen that does not paste as the option's minus sign.
void put(std::string& out, char c, bool code) {
    if (c == '\\') out += "\\e";
    else if (c == '-' && code) out += "\\-";
    else out += c;
}

// `font` is the font to return to after a span (R in text, B inside bold).
std::string render_inline(std::string_view s, char font) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
        const char c = s[i];
        if (c == '\\' && i + 1 < s.size() && s[i + 1] == '|') {  // a table's literal bar
            out += '|';
            i += 2;
        } else if (c == '`') {
            const auto end = s.find('`', i + 1);
            if (end == std::string_view::npos) {
                out += c;
                ++i;
                continue;
            }
            out += "\\fB";
            for (size_t k = i + 1; k < end; ++k) {
                if (s[k] == '\\' && k + 1 < end && s[k + 1] == '|') continue;  // `\|` in a table
                put(out, s[k], true);
            }
            out += fmt::format("\\f{}", font);
            i = end + 1;
        } else if (s.substr(i).starts_with("**")) {
            const auto end = s.find("**", i + 2);
            if (end == std::string_view::npos || end == i + 2) {
                out += "**";
                i += 2;
                continue;
            }
            out += "\\fB" + render_inline(s.substr(i + 2, end - i - 2), 'B') + fmt::format("\\f{}", font);
            i = end + 2;
        } else if (c == '*' && i + 1 < s.size() && s[i + 1] != ' ' && s[i + 1] != '*') {
            // *emphasis*: the closing star follows a non-blank ("3 * 4" is not emphasis).
            auto end = s.find('*', i + 1);
            while (end != std::string_view::npos && s[end - 1] == ' ') end = s.find('*', end + 1);
            if (end == std::string_view::npos) {
                out += c;
                ++i;
                continue;
            }
            out += "\\fI" + render_inline(s.substr(i + 1, end - i - 1), 'I') + fmt::format("\\f{}", font);
            i = end + 1;
        } else if (c == '[') {
            const auto close = s.find("](", i);
            const auto paren = close == std::string_view::npos ? close : s.find(')', close);
            if (paren == std::string_view::npos) {
                out += c;
                ++i;
                continue;
            }
            out += render_inline(s.substr(i + 1, close - i - 1), font);
            out += " <" + render_inline(s.substr(close + 2, paren - close - 2), font) + ">";
            i = paren + 1;
        } else {
            put(out, c, false);
            ++i;
        }
    }
    return out;
}

std::vector<std::string> table_cells(std::string_view row) {
    std::vector<std::string> cells;
    std::string cell;
    for (size_t i = 1; i < row.size(); ++i) {  // past the leading `|`
        if (row[i] == '\\' && i + 1 < row.size() && row[i + 1] == '|') {
            cell += "\\|";
            ++i;
        } else if (row[i] == '|') {
            cells.emplace_back(trim(cell));
            cell.clear();
        } else {
            cell += row[i];
        }
    }
    if (!trim(cell).empty()) cells.emplace_back(trim(cell));
    return cells;
}

std::string heading_text(std::string_view line) {
    std::string plain;
    for (char c : trim(line.substr(line.find_first_not_of('#')))) {
        if (c == '`') continue;
        // .SH and .SS take the rest of the line as their arguments: a bare quote would
        // start a quoted argument.
        if (c == '"') plain += "\\(dq";
        else put(plain, c, false);
    }
    return plain;
}

}  // namespace

Lines split_lines(std::string_view text) {
    Lines out;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        out.emplace_back(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return out;
}

int heading_level(std::string_view line) {
    size_t n = 0;
    while (n < line.size() && line[n] == '#') ++n;
    return n > 0 && n <= 6 && n < line.size() && line[n] == ' ' ? static_cast<int>(n) : 0;
}

Result<Lines> section(const Lines& doc, std::string_view title, std::string_view source) {
    bool in_code = false;
    for (size_t i = 0; i < doc.size(); ++i) {
        if (is_fence(doc[i])) in_code = !in_code;
        const int level = in_code ? 0 : heading_level(doc[i]);
        if (level == 0 || trim(std::string_view(doc[i]).substr(level)) != title) continue;
        Lines body;
        bool code = false;
        for (size_t k = i + 1; k < doc.size(); ++k) {
            if (is_fence(doc[k])) code = !code;
            const int l = code ? 0 : heading_level(doc[k]);
            if (l > 0 && l <= level) break;
            body.push_back(doc[k]);
        }
        return body;
    }
    return make_error(0, "{}: no heading \"{}\": the man pages are made from that section", source, title);
}

std::string inline_roff(std::string_view text) { return render_inline(text, 'R'); }

std::string to_roff(const Lines& body, int sh_level) {
    std::string out;
    const size_t n = body.size();
    // The lines of one block (a paragraph, an item with its continuation lines) joined:
    // roff fills the text itself, and a span broken across source lines stays whole.
    auto join_until = [&](size_t& i, auto&& stop) {
        std::string text(trim(body[i++]));
        while (i < n && !blank(body[i]) && !stop(body[i])) text += " " + std::string(trim(body[i++]));
        return text;
    };
    auto block_start = [](std::string_view l) {
        return heading_level(l) > 0 || is_fence(l) || is_table_row(l) || is_bullet(l) || number_prefix(l) > 0;
    };
    for (size_t i = 0; i < n;) {
        const std::string_view line = body[i];
        if (blank(line)) {
            ++i;
        } else if (is_fence(line)) {
            out += ".PP\n.RS 4\n.nf\n";
            for (++i; i < n && !is_fence(body[i]); ++i) {
                std::string code;
                for (char c : body[i]) put(code, c, true);
                out += text_line(code);
            }
            ++i;  // the closing fence
            out += ".fi\n.RE\n";
        } else if (const int level = heading_level(line); level > 0) {
            out += (level <= sh_level ? ".SH " : ".SS ") + heading_text(line) + "\n";
            ++i;
        } else if (is_table_row(line) && i + 1 < n && is_table_rule(body[i + 1])) {
            const auto header = table_cells(line);
            for (i += 2; i < n && is_table_row(body[i]); ++i) {
                const auto cells = table_cells(body[i]);
                if (cells.empty()) continue;
                out += ".TP\n" + text_line(inline_roff(cells[0]));
                std::string facts;
                for (size_t c = 1; c + 1 < cells.size(); ++c) {
                    if (cells[c].empty()) continue;
                    if (!facts.empty()) facts += "; ";
                    facts += (c < header.size() ? header[c] + ": " : "") + inline_roff(cells[c]);
                }
                if (!facts.empty()) out += text_line(facts);
                if (cells.size() > 1) {
                    if (!facts.empty()) out += ".br\n";
                    out += text_line(inline_roff(cells.back()));
                }
            }
        } else if (is_bullet(line) || number_prefix(line) > 0) {
            const size_t skip = is_bullet(line) ? 2 : number_prefix(line);
            out += is_bullet(line) ? ".IP \\(bu 2\n" : ".IP " + std::string(line.substr(0, skip - 1)) + " 4\n";
            std::string item = join_until(i, block_start);
            out += text_line(inline_roff(item.substr(skip)));
        } else {
            out += ".PP\n" + text_line(inline_roff(join_until(i, block_start)));
        }
    }
    return out;
}

std::string roff_to_text(std::string_view roff) {
    std::string out;
    for (const auto& line : split_lines(roff)) {
        std::string_view l = line;
        if (l.starts_with(".SH ") || l.starts_with(".SS ")) l.remove_prefix(4);
        else if (l.starts_with(".") || l.starts_with("'")) continue;
        for (size_t i = 0; i < l.size(); ++i) {
            if (l[i] != '\\' || i + 1 >= l.size()) {
                out += l[i];
                continue;
            }
            const char e = l[++i];
            if (e == 'f') ++i;           // \fB \fR \fI: font changes
            else if (e == '-') out += '-';
            else if (e == 'e') out += '\\';
            else if (e == '(') { out += '*'; i += 2; }  // \(bu
            else if (e != '&') out += e;
        }
        out += '\n';
    }
    return out;
}

}  // namespace lvsd::man
