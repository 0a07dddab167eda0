// The second half of the keepalived reader: the pieces of keepalived_lexer become a tree.
// keepalived itself has no tree: its process_stream() reads `{` and `}` against a keyword
// table (lib/parser.c). The reader knows no keywords, so that the importer can say
// "unknown keyword" with a suggestion: a `{` that directly follows a statement opens
// that statement's block, a `}` closes the innermost block. What keepalived's table adds
// (a keyword that takes no block, a block keyword without `{`) is the importer's to check.
#include "config/keepalived_reader.hpp"

#include <fmt/format.h>

#include "config/detail/keepalived_lexer.hpp"

namespace lvsd::config::keepalived {

namespace {

using detail::LexEvent;

class Builder {
public:
    Builder(const ReadOptions& options, ReadResult& result) : options_(options), result_(result) {
        levels_.push_back({&result.statements, nullptr});
    }
    void attach(detail::Lexer* lexer) { lexer_ = lexer; }

    void on(LexEvent&& e) {
        switch (e.kind) {
            case LexEvent::Kind::Comment: pending_.push_back({e.file, e.line, std::move(e.text)}); break;
            // A blank line, a definition or an include between a keyword and its `{` is
            // fine for keepalived, so neither forgets the statement before it.
            case LexEvent::Kind::Blank: flush(); break;
            case LexEvent::Kind::Break:
                flush();
                loose(e.file, e.line, std::move(e.trailing_comment));
                break;
            case LexEvent::Kind::Code:
                if (e.text == "{") open(e);
                else if (e.text == "}") close(e);
                else statement(e);
                break;
        }
    }

    void finish() {
        flush();
        if (lexer_->stopped()) return;
        for (std::size_t i = 1; i < levels_.size(); ++i) {
            const Statement& s = *levels_[i].owner;
            lexer_->error(s.file, s.line,
                          fmt::format("the block of '{}' opened here is not closed at the end of the input "
                                      "(keepalived: \"There are {} missing '}}'s\")",
                                      s.keyword, levels_.size() - 1));
        }
    }

private:
    struct Level {
        std::vector<Statement>* list;
        Statement* owner;
    };

    void flush() {
        for (auto& c : pending_) result_.unattached_comments.push_back(std::move(c));
        pending_.clear();
    }
    void loose(const std::string& file, int line, std::optional<std::string> text) {
        if (text) result_.unattached_comments.push_back({file, line, std::move(*text)});
    }

    void open(LexEvent& e) {
        flush();
        loose(e.file, e.line, std::move(e.trailing_comment));
        Statement* owner = last_;
        last_ = nullptr;
        if (!owner || owner->has_block) {
            lexer_->error(e.file, e.line, "'{' does not follow a statement: keepalived ignores it (\"Unexpected '{'\")");
            return;
        }
        if (static_cast<int>(levels_.size()) > options_.max_block_depth) {
            lexer_->error(e.file, e.line,
                          fmt::format("blocks nested more than {} deep: stopped reading", options_.max_block_depth));
            lexer_->stop();
            return;
        }
        owner->has_block = true;
        levels_.push_back({&owner->children, owner});
    }

    void close(LexEvent& e) {
        flush();
        loose(e.file, e.line, std::move(e.trailing_comment));
        last_ = nullptr;
        if (levels_.size() == 1) {
            lexer_->error(e.file, e.line, "'}' closes no block (keepalived: \"Extra '}' found\")");
            return;
        }
        levels_.pop_back();
    }

    void statement(LexEvent& e) {
        auto words = detail::split_words(e.text);
        if (words.empty()) return;  // only form feeds and the like: keepalived skips it
        if (++statements_ > options_.max_statements) {
            lexer_->error(e.file, e.line,
                          fmt::format("more than {} statements: stopped reading", options_.max_statements));
            lexer_->stop();
            return;
        }
        Statement s;
        s.keyword = std::move(words.front());
        s.args.assign(std::make_move_iterator(words.begin() + 1), std::make_move_iterator(words.end()));
        s.text = e.text;
        s.file = e.file;
        s.line = e.line;
        for (auto& c : pending_) s.comments.push_back(std::move(c.text));
        pending_.clear();
        if (e.trailing_comment) s.comments.push_back(std::move(*e.trailing_comment));
        auto& list = *levels_.back().list;
        list.push_back(std::move(s));
        last_ = &list.back();
        // global_defs { include_check ... } changes how later includes are checked.
        if (last_->keyword == "include_check" && levels_.size() == 2 && levels_[1].owner->keyword == "global_defs")
            lexer_->set_include_check(last_->args, last_->file, last_->line);
    }

    const ReadOptions& options_;
    ReadResult& result_;
    detail::Lexer* lexer_ = nullptr;
    std::vector<Level> levels_;
    std::vector<Comment> pending_;
    Statement* last_ = nullptr;  // the statement a `{` right now would open
    std::size_t statements_ = 0;
};

template <typename Run>
ReadResult read(const ReadOptions& options, Run run) {
    ReadResult result;
    Builder builder(options, result);
    detail::Lexer lexer(options, result, [&builder](LexEvent&& e) { builder.on(std::move(e)); });
    builder.attach(&lexer);
    run(lexer);
    builder.finish();
    return result;
}

}  // namespace

ReadResult read_file(const std::string& path, const ReadOptions& options) {
    return read(options, [&](detail::Lexer& lexer) { lexer.run_file(path); });
}

ReadResult read_string(std::string_view text, const std::string& name, const ReadOptions& options,
                       const std::string& base_dir) {
    return read(options, [&](detail::Lexer& lexer) { lexer.run_text(text, name, base_dir); });
}

}  // namespace lvsd::config::keepalived
