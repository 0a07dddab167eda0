// Errors as values at module boundaries (DESIGN.md: "Errors are values").
// A small stand-in for C++23 std::expected, which g++ 12 only ships in C++23 mode.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace lvsd {

// `code` is an errno value when the failure came from the kernel or a syscall,
// 0 otherwise. `message` is complete: it names the operation, the object and the reason.
struct Error {
    std::string message;
    int code = 0;
};

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return error_; }

private:
    Error error_;
    bool ok_ = true;
};

template <class... Args>
Error make_error(int code, fmt::format_string<Args...> f, Args&&... args) {
    return Error{fmt::format(f, std::forward<Args>(args)...), code};
}

}  // namespace lvsd
