// The interface between the type checker (compile.cpp) and the typing rules of
// operators (operators.cpp) and functions (functions.cpp). Each builder gets
// well-typed child nodes, checks the operand types, and returns the evaluation node
// or reports an error and returns nullptr.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "expr/ast.hpp"
#include "expr/nodes.hpp"

namespace date {
class time_zone;
}

namespace tickflow::expr {

class TypeErrors {
 public:
  virtual ~TypeErrors() = default;
  // An error pointing at source characters [offset, offset + length).
  virtual void error(size_t offset, size_t length, std::string message) = 0;
  // The operator or name as the user spelled it ("&&" rather than "and").
  virtual std::string_view spelling(const Ast& ast) const = 0;

  void error_at(const Ast& ast, std::string message) {
    error(ast.offset, ast.length, std::move(message));
  }
};

inline bool is_number(Type t) {
  return t == Type::Int || t == Type::Double;
}

// "int", or "int and string" for two operands.
std::string type_pair(Type a, Type b);

NodePtr build_unary(const Ast& ast, NodePtr operand, TypeErrors& errors);
NodePtr build_binary(const Ast& ast, NodePtr left, NodePtr right, TypeErrors& errors);
NodePtr build_in(const Ast& ast, std::vector<NodePtr> values, TypeErrors& errors);

bool is_function(std::string_view name);
std::vector<std::string> function_names();
// `ast` is the call; its children are the argument expressions (for locations).
// `zone`: the query's time zone for the calendar functions; nullptr for UTC.
NodePtr build_call(const Ast& ast, std::vector<NodePtr> args, TypeErrors& errors,
                   const date::time_zone* zone);

}  // namespace tickflow::expr
